import type { FastifyInstance } from 'fastify';
import type { RoleCheck } from './access';
import { registerCampaignRoutes } from './campaign-routes';
import { registerHistoryRoutes } from './history-routes';
import { buildOpenApi, type CollectedRoute } from './openapi';
import { registerSqlRoutes } from './sql-routes';
import type { CampaignApi, HistoryReader, SqlRunner } from './types';

export interface ApiDeps {
  history?: HistoryReader;
  campaigns?: CampaignApi;
  sql?: SqlRunner;
  authorize?: RoleCheck;
  now(): number;
  onSqlQuery?(outcome: string, durationMs: number): void;
}

/** History, campaign and SQL routes; each answers 503 UNAVAILABLE while its dependency is absent. */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  registerHistoryRoutes(app, deps.history);
  registerCampaignRoutes(app, { campaigns: deps.campaigns, history: deps.history, now: deps.now });
  registerSqlRoutes(app, { sql: deps.sql, authorize: deps.authorize, onQuery: deps.onSqlQuery });
}

/** /v1/live is registered by the WebSocket module without a schema; its protocol is described here. */
const LIVE_DOC = {
  summary: 'Live totals over WebSocket',
  tags: ['live'],
  description: [
    'Upgrade with a WebSocket handshake (101 Switching Protocols); JSON text frames follow.',
    'Client → server: {"type":"subscribe","channel":"totals:<scope>"}, {"type":"unsubscribe","channel":"totals:<scope>"}, {"type":"ping"}.',
    'Server → client: {"type":"snapshot","channel","data":{…totals},"seq","ts"} after every subscribe; {"type":"update",…} at most once per channel per LIVE_TICK_MS while the totals change',
    '(drop an update whose seq is not above the last seen); {"type":"pong","ts"}; {"type":"error","code","message","channel"?} with INVALID_JSON, BAD_FRAME, UNKNOWN_TYPE,',
    'INVALID_CHANNEL, TOO_MANY_SUBSCRIPTIONS, FRAME_TOO_LARGE or NOT_READY — the connection stays open. The server pings every WS_HEARTBEAT_MS and closes with 1001 on shutdown.',
    'Scopes as in GET /v1/totals/{scope}.',
  ].join(' '),
};

/** GET /openapi.json, generated once from every route registered by the time it is first asked for. */
export function registerOpenApiRoute(app: FastifyInstance, routes: readonly CollectedRoute[]): void {
  let document: string | undefined;
  app.get('/openapi.json', {
    schema: { summary: 'This API as an OpenAPI 3.0 document', tags: ['meta'], response: { 200: { type: 'object', description: 'OpenAPI 3.0.3 document', additionalProperties: true } } },
  }, async (_request, reply) => {
    document ??= JSON.stringify(
      buildOpenApi(routes, {
        title: 'LiveTally gateway',
        version: '0.1.0',
        description: 'Live and historical livestream e-commerce figures. Money is integer fen. Errors are { "error": { "code", "message", "details"? } }.',
        extra: { 'GET /v1/live': LIVE_DOC },
      }),
    );
    return reply.type('application/json; charset=utf-8').send(document);
  });
}
