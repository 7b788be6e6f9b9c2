import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ruleFor, rolesFor } from '../auth/policy';
import type { RoleCheck } from './access';
import { registerCampaignRoutes } from './campaign-routes';
import { registerHistoryRoutes } from './history-routes';
import { buildOpenApi, toSchema, type CollectedRoute } from './openapi';
import { limitGroupOf } from './rate-limit';
import { errorResponses, errorSchema } from './schemas';
import { registerSqlRoutes } from './sql-routes';
import type { CampaignApi, HistoryReader, SqlRunner } from './types';

export interface ApiDeps {
  history?: HistoryReader;
  campaigns?: CampaignApi;
  sql?: SqlRunner;
  authorize?: RoleCheck;
  /** May the request see this scope (campaign listings)? Absent = yes. */
  canSee?(request: FastifyRequest, scope: string): boolean;
  now(): number;
  onSqlQuery?(outcome: string, durationMs: number): void;
}

/** History, campaign and SQL routes; each answers 503 UNAVAILABLE while its dependency is absent. */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  registerHistoryRoutes(app, deps.history);
  registerCampaignRoutes(app, { campaigns: deps.campaigns, history: deps.history, now: deps.now, canSee: deps.canSee });
  registerSqlRoutes(app, { sql: deps.sql, authorize: deps.authorize, onQuery: deps.onSqlQuery });
}

/** /v1/live is registered by the WebSocket module without a schema; its protocol is described here. */
const LIVE_DOC = {
  summary: 'Live totals over WebSocket',
  tags: ['live'],
  description: [
    'Upgrade with a WebSocket handshake (101 Switching Protocols); JSON text frames follow.',
    'Client → server: {"type":"subscribe","channel":"totals:<scope>"}, {"type":"unsubscribe","channel":"totals:<scope>"}, {"type":"ping"}.',
    'Server → client: {"type":"snapshot","channel","data":{…totals},"seq","ts"} after every subscribe; {"type":"update",…} at most once per channel per LIVE_PUSH_INTERVAL_MS while the totals change (time-based channels also every LIVE_TICK_MS)',
    '(drop an update whose seq is not above the last seen); {"type":"pong","ts"}; {"type":"error","code","message","channel"?} with INVALID_JSON, BAD_FRAME, UNKNOWN_TYPE,',
    'INVALID_CHANNEL (also a scope value its kind cannot have), TOO_MANY_SUBSCRIPTIONS (WS_MAX_SUBSCRIPTIONS per connection, WS_MAX_SUBSCRIPTIONS_PER_TOKEN over all connections of a token), GATEWAY_FULL (WS_MAX_SUBSCRIPTIONS_TOTAL in this gateway),',
    "FRAME_TOO_LARGE, RATE_LIMITED, FORBIDDEN (a channel outside the token's scopes; rankings:<parent>:… is checked against the parent) or NOT_READY — the connection stays open.",
    'The server pings every WS_HEARTBEAT_MS, closes with 1001 on shutdown, with 1008 when the token expires or the client keeps flooding over WS_FRAME_RATE.',
    'With GATEWAY_AUTH=on the upgrade needs a token: Authorization: Bearer, a "bearer.<token>" entry in Sec-WebSocket-Protocol (offer "livetally" too; it is the one echoed) or ?token=.',
    "Refused upgrades are plain HTTP answers: 401 UNAUTHORIZED, 403 FORBIDDEN_ORIGIN (Origin neither the gateway's own nor in GATEWAY_ALLOWED_ORIGINS), 429 TOO_MANY_CONNECTIONS, 503 GATEWAY_FULL.",
    'Scopes as in GET /v1/totals/{scope}.',
  ].join(' '),
};

/** GET /openapi.json, generated once from every route registered by the time it is first asked for. */
/** The 429 every rate-limited route may answer (see rate-limit.ts). */
const RATE_LIMITED_RESPONSE = {
  description:
    'Too Many Requests: over GATEWAY_RATE_LIMIT_PER_MINUTE, or GATEWAY_SQL_RATE_LIMIT_PER_MINUTE for POST /v1/sql, per token subject (per client address without a valid token), in one-minute windows shared by every gateway instance.',
  headers: {
    'Retry-After': { description: 'Seconds until the window ends', schema: { type: 'integer' } },
    'X-RateLimit-Limit': {
      description: 'Requests allowed per window (on every limited answer)',
      schema: { type: 'integer' },
    },
    'X-RateLimit-Remaining': { description: 'Requests left in this window', schema: { type: 'integer' } },
    'X-RateLimit-Reset': { description: 'Seconds until the window ends', schema: { type: 'integer' } },
  },
  content: { 'application/json': { schema: toSchema(errorSchema(['RATE_LIMITED'])) } },
};

export function registerOpenApiRoute(
  app: FastifyInstance,
  routes: readonly CollectedRoute[],
  policy: { metricsPublic: boolean; rateLimited?: boolean },
): void {
  let document: string | undefined;
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This API as an OpenAPI 3.0 document',
        tags: ['meta'],
        response: { 200: { type: 'object', description: 'OpenAPI 3.0.3 document', additionalProperties: true } },
      },
    },
    async (_request, reply) => {
      document ??= JSON.stringify(
        buildOpenApi(routes, {
          title: 'LiveTally gateway',
          version: '0.1.0',
          description:
            'Live and historical livestream e-commerce figures. Money is integer fen. Errors are { "error": { "code", "message", "details"? } }.',
          extra: { 'GET /v1/live': LIVE_DOC },
          security: {
            schemes: {
              bearerAuth: {
                type: 'http',
                scheme: 'bearer',
                bearerFormat:
                  'LiveTally token: base64url(JSON payload).base64url(HMAC-SHA256); mint with npm run token',
              },
            },
            description:
              'Required when the gateway runs with GATEWAY_AUTH=on; routes marked security: [] are always open.',
            isOpen: (method, url) => ruleFor(method.toUpperCase(), url, policy)?.open === true,
            roles: (method, url) => rolesFor(method, url),
            refusals: errorResponses('UNAUTHORIZED', 'FORBIDDEN'),
          },
          commonResponses: (method, url) =>
            policy.rateLimited && limitGroupOf(method.toUpperCase(), url) ? { 429: RATE_LIMITED_RESPONSE } : undefined,
        }),
      );
      return reply.type('application/json; charset=utf-8').send(document);
    },
  );
}
