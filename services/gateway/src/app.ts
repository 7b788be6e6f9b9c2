import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { registerDocsUi, registerOpenApi } from '@livetally/api-docs';
import type { Logger } from '@livetally/logging';
import { accessFor, redactUrl, registerAuth, type AuthSettings } from './auth/guard';
import type { HttpLimits } from './config';
import { loadDashboard } from './dashboard';
import { handleError, handleNotFound } from './errors';
import type { RoleCheck } from './http/access';
import { registerApiRoutes } from './http/api';
import { registerCors } from './http/cors';
import { gatewayOpenApi } from './http/openapi';
import { clientKeyOf, registerRateLimits, type RateLimitSettings } from './http/rate-limit';
import type { CampaignApi, HistoryReader, SqlRunner } from './http/types';
import { formatValidationErrors } from './http/validation';
import { registerAsyncApiRoute } from './live/asyncapi';
import type { LiveHub } from './live/hub';
import { registerLiveSocket, type LiveSocketOptions } from './live/socket-route';
import type { TotalsReader } from './live/types';
import { ConnectionCounter, registerConnectionCaps, registerOriginCheck } from './live/upgrade-guard';
import { GatewayMetrics } from './metrics';
import { registerHttpRoutes } from './routes';

export interface GatewayDeps {
  /** Reads current totals for GET /v1/totals (the hub has its own reader, usually the same store). */
  totals: TotalsReader;
  /** Channel registry and tick loop behind /v1/live; its owner starts and stops the tick. */
  hub: LiveHub;
  /** True once Redis answers and the change subscription is live, false again during shutdown. */
  isReady(): boolean;
  logger: Logger;
  /** Metrics hooks and registry; a private one is made when absent. */
  metrics?: GatewayMetrics;
  live?: Partial<LiveSocketOptions>;
  /** Wall clock for asOf; injectable for tests. */
  now?(): number;
  /** History from the ClickHouse rollups (/v1/history, campaign figures); those routes answer 503 UNAVAILABLE without it. */
  history?: HistoryReader;
  /** Campaign definitions (/v1/campaigns); 503 UNAVAILABLE without it. */
  campaigns?: CampaignApi;
  /** Runs engineers' read-only SQL (POST /v1/sql); 503 UNAVAILABLE without it. */
  sql?: SqlRunner;
  /** Overrides the role check of role-guarded routes (POST /v1/sql needs 'engineer'); by default it comes from `auth`. */
  authorize?: RoleCheck;
  /** Token verification and the access policy (GATEWAY_AUTH=on); absent = everything open. */
  auth?: AuthSettings;
  /** Request limits of the REST routes, counted in Redis when it is given; absent = no limit (unit tests of other things). */
  rateLimits?: RateLimitSettings;
  limits?: Partial<AppLimits>;
}

/** Request-level hardening: the HTTP part as config.ts reads it; WebSocket upgrades also check origins and these caps. */
export interface AppLimits extends Pick<
  HttpLimits,
  'bodyLimit' | 'connectionTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'trustProxy' | 'allowedOrigins'
> {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export const DEFAULT_APP_LIMITS: AppLimits = {
  bodyLimit: 64 * 1024,
  connectionTimeout: 120_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 72_000,
  trustProxy: false,
  allowedOrigins: [],
  maxConnections: 10_000,
  maxConnectionsPerIp: 100,
};

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export const DEFAULT_LIVE_OPTIONS: LiveSocketOptions = {
  maxMessageBytes: 4096,
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  closeGraceMs: 1000,
  frameRate: { perSecond: 20, burst: 40 },
};

// fastify's request serializer, minus the token a dashboard or WebSocket URL may carry.
const requestLog = (req: FastifyRequest) => ({
  method: req.method,
  url: redactUrl(req.url),
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
});

/** Builds the gateway's fastify app without listening, so tests can inject() into it. */
export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? new GatewayMetrics({ defaultMetrics: false });
  const page = loadDashboard();
  const limits = { ...DEFAULT_APP_LIMITS, ...deps.limits };
  const access = accessFor(deps.auth);
  const app = Fastify({
    // Typed as fastify's base logger so helpers can take a plain FastifyInstance (pino's own
    // Logger type is stricter than fastify's generic parameter allows).
    loggerInstance: deps.logger.child({}, { serializers: { req: requestLog } }) as FastifyBaseLogger,
    bodyLimit: limits.bodyLimit,
    // Idle sockets, slow senders (the whole request must arrive in time) and keep-alive.
    connectionTimeout: limits.connectionTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    trustProxy: limits.trustProxy,
    // Scope values may be 128 characters; fastify's default of 100 would turn long scopes into 404s.
    routerOptions: { maxParamLength: 512 },
    // Probes and scrapes arrive every few seconds; logging each would drown the useful lines.
    logController: new LogController({ disableRequestLogging: (request) => QUIET_PATHS.has(request.url) }),
    // Browsers keep spare connections open without ever sending a request; without this
    // close() waits for them until the shutdown deadline.
    forceCloseConnections: true,
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  app.setSchemaErrorFormatter(formatValidationErrors);
  // Must be in place before any route is added: GET /openapi.json documents every route.
  await registerOpenApi(
    app,
    gatewayOpenApi({ metricsPublic: deps.auth?.metricsPublic ?? false, rateLimited: deps.rateLimits !== undefined }),
  );
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(page.securityHeaders);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.onHttpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime);
  });

  deps.hub.setObserver({
    onFramesSent: (type, count) => metrics.onFramesSent(type, count),
    onFanOut: (ms) => metrics.onFanOut(ms),
    onSubscriptions: (total) => metrics.onSubscriptions(total),
    onReadError: (err) => {
      metrics.onReadError();
      deps.logger.warn({ err }, 'reading live totals failed; retrying on the next tick');
    },
  });

  await registerLiveSocket(app, deps.hub, { ...DEFAULT_LIVE_OPTIONS, ...deps.live }, metrics, access);
  registerAsyncApiRoute(app);
  // onRequest order: CORS (answers preflights), WebSocket origin, then the token and the policy, then connection caps.
  const refused = (reason: string) => metrics.onRefused(reason);
  await registerCors(app, limits.allowedOrigins);
  // Before authentication, so that floods of bad tokens are limited too (by address).
  if (deps.rateLimits) registerRateLimits(app, deps.rateLimits, clientKeyOf(deps.auth, deps.now ?? Date.now), refused);
  registerOriginCheck(app, limits.allowedOrigins, refused);
  registerAuth(app, deps.auth, refused, deps.now ?? Date.now);
  registerConnectionCaps(app, new ConnectionCounter(limits), refused);
  registerHttpRoutes(app, {
    totals: deps.totals,
    isReady: deps.isReady,
    metrics,
    dashboardHtml: page.html,
    now: deps.now ?? Date.now,
  });
  registerApiRoutes(app, {
    history: deps.history,
    campaigns: deps.campaigns,
    sql: deps.sql,
    authorize: deps.authorize ?? access.authorize,
    canSee: access.canSee,
    now: deps.now ?? Date.now,
    onSqlQuery: (outcome, ms) => metrics.onSqlQuery(outcome, ms),
  });
  // Last, so that its pages pass the hooks above; it scopes its own relaxed CSP to /docs.
  await registerDocsUi(app);
  return app;
}
