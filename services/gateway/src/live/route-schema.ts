import type { FastifySchema } from 'fastify';
import { errorResponses } from '../http/schemas';

/**
 * The upgrade of GET /v1/live as OpenAPI can say it; the frames that follow are described
 * by the AsyncAPI document built from ./frame-schemas.ts (GET /asyncapi.json).
 */
export const LIVE_ROUTE_SCHEMA: FastifySchema = {
  summary: 'Live figures over WebSocket',
  tags: ['live'],
  description: [
    'Upgrade with a WebSocket handshake (101 Switching Protocols); JSON text frames follow, as described in AsyncAPI 3 by GET /asyncapi.json.',
    'Client → server: {"type":"subscribe","channel":"totals:<scope>"}, {"type":"unsubscribe","channel":"totals:<scope>"}, {"type":"ping"}; channels are totals:, windows:, series:<scope> and rankings:<all|campaign:<id>>:<dimension>:<measure>.',
    'Server → client: a "snapshot" after every subscribe; "update" frames at most once per channel per LIVE_PUSH_INTERVAL_MS while the figures change (drop one whose seq is not above the last seen); "pong"; "error" frames (the connection stays open).',
    'The server pings every WS_HEARTBEAT_MS, closes with 1001 on shutdown, with 1008 when the token expires or the client keeps flooding over WS_FRAME_RATE.',
    'With GATEWAY_AUTH=on the upgrade needs a token: Authorization: Bearer, a "bearer.<token>" entry in Sec-WebSocket-Protocol (offer "livetally" too; it is the one echoed) or ?token=.',
    'Refused upgrades are plain HTTP answers in the shared error body.',
  ].join(' '),
  querystring: {
    type: 'object',
    properties: {
      token: {
        type: 'string',
        description: 'The bearer token, for clients that can set neither a header nor a subprotocol',
      },
    },
  },
  response: {
    101: { description: 'Switching Protocols: the connection is upgraded to a WebSocket', type: 'null' },
    ...errorResponses('UNAUTHORIZED', 'FORBIDDEN', 'FORBIDDEN_ORIGIN', 'TOO_MANY_CONNECTIONS', 'GATEWAY_FULL'),
  },
};
