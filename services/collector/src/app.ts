import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerDocsUi, registerOpenApi } from '@livetally/api-docs';
import type { Logger } from '@livetally/logging';
import type { ApiKeyring } from './api-keys';
import { registerBodyParser } from './body';
import { handleError, handleNotFound } from './errors';
import type { EventSink } from './kafka-sink';
import { CollectorMetrics } from './metrics';
import { COLLECTOR_OPENAPI } from './openapi';
import { registerRoutes } from './routes';
import type { PlatformLimiter } from './platform-limit';

export interface CollectorLimits {
  /** Most events in one request (413 TOO_MANY_EVENTS beyond). */
  maxBatchEvents: number;
  /** Most bytes of a body on the wire and after gzip inflation (413 PAYLOAD_TOO_LARGE beyond). */
  maxBodyBytes: number;
}

export interface CollectorDeps {
  /** Kafka, or a fake in unit tests. */
  sink: EventSink;
  keys: ApiKeyring;
  /** Events per platform; shared through Redis in production. */
  limiter: PlatformLimiter;
  limits: CollectorLimits;
  /** True while the collector can store events; false while Kafka is away and during shutdown. */
  isReady(): boolean;
  logger: Logger;
  /** A private registry is made when absent. */
  metrics?: CollectorMetrics;
  /** Receiver's clock for event validation; injectable for tests. */
  now?(): number;
}

const QUIET_PATHS = new Set(['/healthz', '/readyz']);

/** Builds the collector's fastify app without listening, so tests can inject() into it. */
export async function buildCollectorApp(deps: CollectorDeps): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? new CollectorMetrics({ defaultMetrics: false });
  metrics.trackReadiness(deps.isReady);
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.limits.maxBodyBytes,
    // Probes and scrapes arrive every few seconds; logging each would drown the useful lines.
    logController: new LogController({ disableRequestLogging: (request) => QUIET_PATHS.has(request.url) }),
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // Before any route: GET /openapi.json documents every route as it is added.
  await registerOpenApi(app, COLLECTOR_OPENAPI);
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id).header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.onHttpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime);
  });
  registerBodyParser(app, deps.limits.maxBodyBytes);
  registerRoutes(app, { ...deps, metrics, now: deps.now ?? Date.now });
  // Last, so that its pages pass the hooks above; it sets its own CSP on /docs.
  await registerDocsUi(app);
  return app;
}
