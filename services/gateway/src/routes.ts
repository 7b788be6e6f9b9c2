import type { FastifyInstance } from 'fastify';
import { TOTAL_FIELDS, type Totals } from '@livetally/live-state';
import { formatScope, parseScope } from '@livetally/events';
import { GatewayError, errorBody } from './errors';
import { CORE_SCHEMAS } from './http/core-schemas';
import type { GatewayMetrics } from './metrics';
import type { TotalsReader } from './live/types';

export interface HttpRouteDeps {
  totals: TotalsReader;
  isReady(): boolean;
  metrics: GatewayMetrics;
  dashboardHtml: string;
  now(): number;
}

/** The plain HTTP endpoints: totals, health, readiness, metrics and the dashboard page. */
export function registerHttpRoutes(app: FastifyInstance, deps: HttpRouteDeps): void {
  app.get<{ Params: { scope: string } }>(
    '/v1/totals/:scope',
    { schema: CORE_SCHEMAS.totals },
    async (request, reply) => {
      // fastify has already URL-decoded the parameter, so district:Bao%27an arrives as district:Bao'an.
      const parsed = parseScope(request.params.scope);
      if (!parsed.ok) throw new GatewayError('INVALID_SCOPE', parsed.message);
      if (!deps.isReady()) throw new GatewayError('NOT_READY');
      const scope = formatScope(parsed.scope);
      let totals: Totals | undefined;
      try {
        totals = (await deps.totals.readTotals([scope])).get(scope);
      } catch (err) {
        request.log.warn({ err, scope }, 'reading totals failed');
        throw new GatewayError('NOT_READY', 'The totals store did not answer; try again shortly.');
      }
      if (!totals) throw new Error(`totals reader returned nothing for ${scope}`);
      reply.header('cache-control', 'no-store');
      return { scope, totals: pickTotals(totals), asOf: new Date(deps.now()).toISOString() };
    },
  );

  app.get('/healthz', { schema: CORE_SCHEMAS.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: CORE_SCHEMAS.readyz }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return deps.isReady() ? { status: 'ready' } : reply.code(503).send(errorBody('NOT_READY'));
  });

  app.get('/metrics', { schema: CORE_SCHEMAS.metrics }, async (_request, reply) => {
    reply.header('cache-control', 'no-store').type(deps.metrics.contentType);
    return deps.metrics.render();
  });

  app.get('/', { schema: CORE_SCHEMAS.dashboard }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(deps.dashboardHtml),
  );
}

/** Copies exactly the documented fields, in a stable order, whatever else the reader returned. */
function pickTotals(t: Totals): Totals {
  const out = {} as Totals;
  for (const f of TOTAL_FIELDS) out[f] = t[f];
  return out;
}
