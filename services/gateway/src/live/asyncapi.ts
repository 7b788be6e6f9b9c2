import type { FastifyInstance } from 'fastify';
import { CLIENT_MESSAGE_SCHEMAS, SERVER_FRAME_SCHEMAS } from './frame-schemas';

const EXAMPLES: Record<string, object[]> = {
  subscribe: [{ type: 'subscribe', channel: 'totals:city:Shenzhen' }],
  unsubscribe: [{ type: 'unsubscribe', channel: 'totals:city:Shenzhen' }],
  ping: [{ type: 'ping' }],
  snapshot: [
    {
      type: 'snapshot',
      channel: 'rankings:all:district:gmv',
      data: { top: [{ name: 'Luohu', value: 1_999_900 }], members: 1 },
      seq: 1,
      ts: 1_724_371_200_000,
    },
  ],
  update: [
    {
      type: 'update',
      channel: 'series:all',
      data: {
        start: 1_724_364_060_000,
        stepMs: 60_000,
        salesFen: [0, 100],
        refundsFen: [0, 0],
        orders: [0, 1],
        views: [3, 4],
        sessions: [1, 0],
      },
      seq: 7,
      ts: 1_724_371_200_000,
    },
  ],
  pong: [{ type: 'pong', ts: 1_724_371_200_000 }],
  error: [
    {
      type: 'error',
      code: 'INVALID_CHANNEL',
      message: 'channel must start with totals:, windows:, series: or rankings:, got "views:all"',
      channel: 'views:all',
    },
  ],
};

const channelRef = { $ref: '#/channels/live' };
const messageRef = (name: string) => ({ $ref: `#/channels/live/messages/${name}` });

function message(name: string, schema: { description: string }) {
  const { description, ...payload } = schema;
  return {
    name,
    title: name,
    summary: description,
    contentType: 'application/json',
    payload,
    examples: (EXAMPLES[name] ?? []).map((example) => ({ payload: example })),
  };
}

/**
 * The /v1/live protocol as an AsyncAPI 3.0 document, built from the frames' own schemas
 * (frame-schemas.ts). Operations are the gateway's: it receives the client messages and
 * sends the rest; subscribe and ping name the frames that answer them.
 */
export function buildAsyncApi() {
  const schemas = { ...CLIENT_MESSAGE_SCHEMAS, ...SERVER_FRAME_SCHEMAS };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'LiveTally live figures',
      version: '0.1.0',
      description:
        'The WebSocket protocol of the gateway: JSON text frames over GET /v1/live. Subscribe to channels; get a snapshot of each, then updates while it changes. ' +
        'The server also pings every WS_HEARTBEAT_MS (WebSocket ping frames), closes with 1001 on shutdown and with 1008 when the token expires or the client keeps sending over WS_FRAME_RATE. ' +
        "The HTTP side (the upgrade, its refusals, every REST route) is in the gateway's OpenAPI document, GET /openapi.json.",
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: '127.0.0.1:8080',
        protocol: 'ws',
        description: 'A gateway on its default GATEWAY_HOST:GATEWAY_PORT.',
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/queryToken' },
        ],
      },
    },
    channels: {
      live: {
        address: '/v1/live',
        title: 'Live channels',
        description:
          "One connection carries every subscription (up to WS_MAX_SUBSCRIPTIONS). With GATEWAY_AUTH=on each subscription must be covered by the token's scopes.",
        messages: Object.fromEntries(
          Object.keys(schemas).map((name) => [name, { $ref: `#/components/messages/${name}` }]),
        ),
        bindings: {
          ws: {
            query: {
              type: 'object',
              properties: {
                token: {
                  type: 'string',
                  description: 'The bearer token, for clients that can set neither a header nor a subprotocol',
                },
              },
            },
            bindingVersion: '0.1.0',
          },
        },
      },
    },
    operations: {
      subscribe: {
        action: 'receive',
        channel: channelRef,
        summary: 'A client subscribes to a channel',
        messages: [messageRef('subscribe')],
        reply: { channel: channelRef, messages: [messageRef('snapshot'), messageRef('error')] },
      },
      unsubscribe: {
        action: 'receive',
        channel: channelRef,
        summary: 'A client leaves a channel',
        messages: [messageRef('unsubscribe')],
      },
      ping: {
        action: 'receive',
        channel: channelRef,
        summary: 'A client checks the connection',
        messages: [messageRef('ping')],
        reply: { channel: channelRef, messages: [messageRef('pong')] },
      },
      update: {
        action: 'send',
        channel: channelRef,
        summary: 'The gateway pushes new data of a subscribed channel',
        messages: [messageRef('update')],
      },
      error: {
        action: 'send',
        channel: channelRef,
        summary: 'The gateway refuses a message (the connection stays open)',
        messages: [messageRef('error')],
      },
    },
    components: {
      messages: Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, message(name, schema)])),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'With GATEWAY_AUTH=on: Authorization: Bearer <token>, or a "bearer.<token>" entry in Sec-WebSocket-Protocol (offer "livetally" too; it is the one echoed).',
        },
        queryToken: { type: 'httpApiKey', name: 'token', in: 'query', description: 'The same token as ?token=' },
      },
    },
  };
}

/** Where the gateway serves the document, open to everyone like GET /openapi.json. */
export const ASYNCAPI_PATH = '/asyncapi.json';

/** GET /asyncapi.json: the document built once from the frames' schemas, so it cannot drift from them. */
export function registerAsyncApiRoute(app: FastifyInstance): void {
  let text: string | undefined;
  app.get(
    ASYNCAPI_PATH,
    {
      schema: {
        summary: 'The /v1/live WebSocket protocol as an AsyncAPI 3.0 document',
        tags: ['meta'],
        response: {
          200: {
            description: "AsyncAPI 3.0.0 document, generated from the frames' JSON Schemas",
            type: 'object',
            additionalProperties: true,
          },
        },
      },
    },
    async (_request, reply) =>
      reply.type('application/json; charset=utf-8').send((text ??= JSON.stringify(buildAsyncApi()))),
  );
}
