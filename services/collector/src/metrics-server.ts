import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CollectorMetrics } from './metrics';

/**
 * GET /metrics on its own listener (COLLECTOR_METRICS_HOST:PORT, loopback by default),
 * never on the platforms' port: the counts of every platform are not for any one of
 * them to read, and platform API keys are the only credentials the collector knows.
 */
export function buildMetricsApp(metrics: CollectorMetrics): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType).header('cache-control', 'no-store');
    return metrics.render();
  });
  return app;
}

export async function startMetricsServer(
  metrics: CollectorMetrics,
  listen: { host: string; port: number },
): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildMetricsApp(metrics);
  await app.listen(listen);
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { app, url: `http://${host}:${address.port}/metrics` };
}
