import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig, startGateway, type RunningGateway } from '@livetally/gateway';
import { createLogger } from '@livetally/logging';
import { startRedis, tearDown, type DedicatedService } from './support/dedicated';
import { waitFor } from './support/stack';

/**
 * A gateway whose Redis goes away: it reports not ready, says so in the log without
 * flooding it (the partition registry is polled every second and fails each time), and is
 * ready again once Redis is back. Redis is this test's own.
 */
const REGISTRY_WARNING = 'unreadable change notification or partition registry';
const OUTAGE_MS = 4_500;

describe('gateway: Redis stops and returns', () => {
  let redis: DedicatedService | undefined;
  let gateway: RunningGateway | undefined;
  const lines: { msg?: string; level?: number }[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { msg?: string });
        done();
      },
    });
    const config = parseGatewayConfig({ GATEWAY_AUTH: 'off', GATEWAY_PORT: '0', REDIS_URL: redis.url });
    gateway = await startGateway(config, createLogger({ service: 'gateway', level: 'info', destination: sink }), {
      keyPrefix: 'lt_gw_outage',
    });
    await waitFor('the gateway ready', async () => gateway!.isReady(), 30_000, 50);
  });

  afterAll(async () => {
    await tearDown([['the gateway', () => gateway?.stop()]], [redis]);
  });

  it('warns about the unreadable registry once per interval, not every poll, and is ready again after', async () => {
    const warnings = () => lines.filter((l) => l.msg === REGISTRY_WARNING).length;
    expect(warnings()).toBe(0);

    await redis!.stop('SIGKILL');
    await waitFor('the gateway not ready', async () => !gateway!.isReady(), 10_000, 50);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    // Four polls failed; one warning says so until the interval (30 s) has passed.
    expect(warnings()).toBe(1);

    await redis!.start();
    await waitFor('the gateway ready again', async () => gateway!.isReady(), 30_000, 50);
  });
});
