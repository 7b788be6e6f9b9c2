import { afterAll, describe, expect, it } from 'vitest';
import { ownerGenerations, startFaultRun, type FaultRun } from './support/fault-run';

/**
 * Issue 10 (a): a worker stops responding (SIGSTOP) for longer than the session
 * timeout while it holds applied batches and rows it has not flushed; the group moves
 * its partitions, the new owner takes them (a newer generation) and goes on; then the
 * old worker resumes (SIGCONT) and tries to finish what it was doing. Its Redis applies,
 * ClickHouse inserts and durable marks are refused by the stores, so the totals end
 * exact in both stores and every offset is stored once.
 */
let r: FaultRun | undefined;

afterAll(async () => {
  await r?.close();
});

describe('fault: a zombie worker', () => {
  it('writes nothing once its partitions moved, and the totals end exact', async () => {
    // A long flush interval: the paused worker certainly holds unflushed rows.
    r = await startFaultRun('zombie', { count: 24_000, workerEnv: { INGEST_FLUSH_MS: '3000' } });
    const paused = r.startWorker();
    r.startWorker();
    await r.produce(0, 8_000);
    await r.waitForRedis(8_000);
    await r.produce(8_000, 12_000);
    await r.waitForRedis(12_000);
    paused.child.kill('SIGSTOP');
    const gensAtPause = await ownerGenerations(r);
    await r.produce(12_000, 20_000);
    // Only possible once the other worker took the paused one's partitions.
    await r.waitForRedis(20_000, 90_000);
    const gensAfterMove = await ownerGenerations(r);

    paused.child.kill('SIGCONT');
    await r.produce(20_000, 24_000);
    await r.expectExact();
    // The other worker did take the paused one's partitions (a newer generation).
    expect([...gensAfterMove].filter(([p, gen]) => gen > (gensAtPause.get(p) ?? 0)).length).toBeGreaterThan(0);
    process.stdout.write(
      `[zombie] refusals seen by the resumed worker: ${(paused.output().match(/changed hands/g) ?? []).length}\n`,
    );
  });
});
