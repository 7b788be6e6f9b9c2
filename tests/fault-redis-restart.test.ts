import { afterAll, describe, expect, it } from 'vitest';
import { restartRedisFromSnapshot, saveRedisSnapshot, startRedis, type DedicatedService } from './support/dedicated';
import { startFaultRun, type FaultRun } from './support/fault-run';
import { waitUntilStored } from './support/kafka';
import { waitFor } from './support/stack';

/**
 * Redis restarts from an older snapshot (its own dump.rdb: SAVE, later SHUTDOWN NOSAVE
 * and start) while a worker keeps running and its flusher still holds rows it applied
 * to Redis before the restart. Those rows reach ClickHouse after the restart; marking
 * the partitions durable through them would tell the next owner that Redis holds them
 * too, and it would never apply them again. The totals must end exact in both stores.
 * (On the previous main the durable mark went through — same owner generation in the
 * snapshot — and Redis ended short by the events between the snapshot and the flush.)
 */
let redis: DedicatedService | undefined;
let r: FaultRun | undefined;

afterAll(async () => {
  await r?.close();
  await redis?.remove();
});

describe('fault: Redis restarts from an older snapshot under a running worker', () => {
  it('applies again what the snapshot lost, although ClickHouse got it after the restart', { timeout: 180_000 }, async () => {
    redis = await startRedis();
    // A long flush interval: the rows of the second chunk are still in the flusher when Redis restarts.
    r = await startFaultRun('redis_restart', { count: 12_000, stores: { redis }, workerEnv: { INGEST_FLUSH_MS: '8000' } });
    r.startWorker();
    await r.produce(0, 4_000);
    await r.waitForRedis(4_000);
    await waitUntilStored(r.redis, r.run, r.topic, 30_000);
    await saveRedisSnapshot(redis);

    await r.produce(4_000, 8_000);
    await r.waitForRedis(8_000);
    await restartRedisFromSnapshot(redis);
    const validUpTo8k = r.data.slice(0, 8_000).filter((m) => m.kind === 'valid').length;
    await waitFor('the flusher to write the rows applied before the restart', async () => (await storedRows(r!)) === validUpTo8k, 30_000, 250);

    await r.produce(8_000, 12_000);
    await r.expectExact({ timeoutMs: 60_000 });
    expect(await storedRows(r)).toBe(r.data.filter((m) => m.kind === 'valid').length);
    const worker = r.workers[0]!.output();
    process.stdout.write(`[redis-restart] durable marks refused: ${(worker.match(/not marked durable/g) ?? []).length}, partitions taken again: ${(worker.match(/"gen":2,[^\n]*took the partition/g) ?? []).length}\n`);
  });
});

async function storedRows(run: FaultRun): Promise<number> {
  const rs = await run.ch.query({ query: `SELECT count() AS n FROM ${run.run}.lt_events WHERE topic = {topic:String}`, query_params: { topic: run.topic }, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]?.n);
}
