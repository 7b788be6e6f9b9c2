import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChdb, startRedis, tearDown, type DedicatedService } from './support/dedicated';
import { startOutageRun, type OutageRun } from './support/outage';
import { STACK } from './support/stack';

/**
 * The ClickHouse server (the chDB stand-in) goes away mid-stream while events keep
 * arriving: the worker holds its batches, reports not ready, and when the server is
 * back on the same data directory and port finishes exact, with no duplicate rows.
 * Redis and chDB are this test's own; Kafka is shared.
 */
describe('outage: ClickHouse stops and returns', () => {
  let redis: DedicatedService | undefined;
  let chdb: DedicatedService | undefined;
  let run: OutageRun | undefined;

  beforeAll(async () => {
    [redis, chdb] = await Promise.all([startRedis(), startChdb()]);
    run = await startOutageRun({ label: 'outage_ch', brokers: STACK.kafkaBrokers, redis, chdb, seed: 62 });
  });

  afterAll(async () => {
    await tearDown([['the outage run', () => run?.close()]], [redis, chdb]);
  });

  it('stops taking batches, reports not ready, and resumes without loss or duplicates', async () => {
    const r = run!;
    const t0 = Date.now();
    await r.waitReadyz(200, 60_000);
    const startedMs = r.since(t0);

    await r.produce(0);
    await r.until('first events counted', async () => (await r.progress()) > 0, 30_000);
    await r.produce(1);

    const countedBefore = await r.progress();
    const down = Date.now();
    await chdb!.stop('SIGTERM');
    await r.produce(2); // events keep arriving during the outage
    await r.waitReadyz(503, 10_000);
    const notReadyMs = r.since(down);
    expect(await r.metric('livetally_ingest_ready')).toBe(0);
    await new Promise((res) => setTimeout(res, 3_000)); // retries against a dead ClickHouse
    expect(await r.readyz()).toBe(503);
    const countedDuring = await r.progress();
    expect(countedDuring).toBeLessThan(r.data.length); // nothing past the outage was counted without its rows
    expect(r.worker.child.exitCode).toBeNull();

    const back = Date.now();
    await chdb!.start();
    await r.produce(3);
    await r.waitReadyz(200, 30_000);
    const readyAgainMs = r.since(back);
    await r.until('livetally_ingest_ready 1', async () => (await r.metric('livetally_ingest_ready')) === 1, 10_000);
    await r.waitExact(60_000);
    const exactMs = r.since(back);

    expect(await r.redisDiffs()).toEqual([]);
    const ch = await r.clickhouse();
    expect(ch.rows).toBe(ch.valid);
    expect(ch.distinctOffsets).toBe(ch.rows);
    expect(r.worker.child.exitCode).toBeNull();
    const retries = await r.metric('livetally_ingest_batch_retries_total');
    process.stdout.write(
      `[outage-clickhouse] worker ready ${startedMs} ms; ${countedBefore}/${r.data.length} counted at SIGTERM, ${countedDuring} during the outage; ` +
        `not ready ${notReadyMs} ms after it; ready ${readyAgainMs} ms and exact ${exactMs} ms after the restart began; ${retries} batch retries; total ${r.since(t0)} ms\n`,
    );
  });
});
