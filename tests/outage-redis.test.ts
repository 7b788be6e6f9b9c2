import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChdb, startRedis, tearDown, type DedicatedService } from './support/dedicated';
import { startOutageRun, type OutageRun } from './support/outage';
import { STACK } from './support/stack';

/**
 * Redis goes away mid-stream (SIGTERM) while events keep arriving: the worker holds
 * its batches, reports not ready, and when Redis is back (same data directory, AOF)
 * finishes with exact totals. Redis and chDB are this test's own; Kafka is shared.
 */
describe('outage: Redis stops and returns', () => {
  let redis: DedicatedService | undefined;
  let chdb: DedicatedService | undefined;
  let run: OutageRun | undefined;

  beforeAll(async () => {
    [redis, chdb] = await Promise.all([startRedis({ persistent: true }), startChdb()]);
    run = await startOutageRun({ label: 'outage_redis', brokers: STACK.kafkaBrokers, redis, chdb, seed: 61 });
  });

  afterAll(async () => {
    await tearDown([['the outage run', () => run?.close()]], [redis, chdb]);
  });

  it('stops taking batches, reports not ready, and resumes without loss', async () => {
    const r = run!;
    const t0 = Date.now();
    await r.waitReadyz(200, 60_000);
    const startedMs = r.since(t0);

    await r.produce(0);
    await r.until('first events counted', async () => (await r.progress()) > 0, 30_000);
    await r.produce(1);

    const countedBefore = await r.progress();
    const down = Date.now();
    await redis!.stop('SIGTERM');
    await r.produce(2); // events keep arriving during the outage
    await r.waitReadyz(503, 10_000);
    const notReadyMs = r.since(down);
    expect(await r.metric('livetally_ingest_ready')).toBe(0);
    await new Promise((res) => setTimeout(res, 3_000)); // retries against a dead Redis
    expect(await r.readyz()).toBe(503);
    expect(r.worker.child.exitCode).toBeNull();

    const back = Date.now();
    await redis!.start();
    await r.produce(3);
    await r.waitReadyz(200, 30_000);
    const readyAgainMs = r.since(back);
    await r.until('livetally_ingest_ready 1', async () => (await r.metric('livetally_ingest_ready')) === 1, 10_000);
    await r.waitExact(60_000);
    const exactMs = r.since(back);

    expect(await r.redisDiffs()).toEqual([]);
    const ch = await r.clickhouse();
    expect(ch.rows).toBe(ch.valid);
    expect(ch.distinctOffsets).toBe(ch.valid);
    expect(r.worker.child.exitCode).toBeNull();
    const retries = await r.metric('livetally_ingest_batch_retries_total');
    process.stdout.write(
      `[outage-redis] worker ready ${startedMs} ms; ${countedBefore}/${r.data.length} counted at SIGTERM; not ready ${notReadyMs} ms after it; ` +
        `ready ${readyAgainMs} ms and exact ${exactMs} ms after the restart began; ${retries} batch retries; total ${r.since(t0)} ms\n`,
    );
  });
});
