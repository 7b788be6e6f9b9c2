import { randomBytes } from 'node:crypto';
import type { LiveEvent } from '@livetally/events';
import { EventGenerator } from '../../services/simulator/src/generator';
import { startService, type ServiceProcess } from './processes';
import { STACK, freePort, uniqueName, waitFor } from './stack';

/** A fresh API key per run, in the collector's accepted alphabet. */
export const newApiKey = (platform: string) => `${platform}-${randomBytes(18).toString('base64url')}`;

export interface CollectorProcess {
  url: string;
  /** GET /metrics, on the collector's own loopback metrics listener. */
  metricsUrl: string;
  process: ServiceProcess;
  post(body: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: any }>;
  stop(): Promise<number | string>;
}

/**
 * The real collector entry point as a child process on a free loopback port; waits
 * for /readyz (or only /healthz when `waitReady` is false, for a collector whose Kafka
 * is meant to be unreachable).
 */
export async function startCollectorProcess(
  env: Record<string, string>,
  options: { waitReady?: boolean } = {},
): Promise<CollectorProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  // Its own rate-limit counters in the shared Redis, unless a test shares them on purpose.
  const redis = { REDIS_URL: STACK.redisUrl, REDIS_KEY_PREFIX: uniqueName('lt-test-collector') };
  const child = startService('collector', {
    KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
    COLLECTOR_PORT: String(port),
    COLLECTOR_METRICS_PORT: String(metricsPort),
    ...redis,
    ...env,
  });
  const probe = options.waitReady === false ? '/healthz' : '/readyz';
  await waitFor(
    `collector ${probe}`,
    async () => {
      if (child.child.exitCode !== null) throw new Error(`collector exited with ${child.child.exitCode}`);
      return (await fetch(`${url}${probe}`, { signal: AbortSignal.timeout(1_000) }).catch(() => null))?.ok;
    },
    60_000,
    200,
  ).catch(async (err: Error) => {
    await child.stop('SIGKILL');
    throw new Error(`${err.message}\n${child.output().slice(-3000)}`);
  });
  return {
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    process: child,
    async post(body, headers = {}) {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, headers: res.headers, json };
    },
    stop: () => child.stop(),
  };
}

/** Realistic valid events (simulator generator) for one platform, event times in the last minutes. */
export function platformEvents(seed: number, count: number, platform: string): LiveEvent[] {
  const start = Date.now() - 10 * 60_000;
  let i = 0;
  const generator = new EventGenerator({ seed, hosts: 40, clock: () => start + i * 10 });
  const out: LiveEvent[] = [];
  for (; i < count; i++) out.push({ ...generator.next(), platform, eventId: `${platform}-${seed}-${i}` });
  return out;
}
