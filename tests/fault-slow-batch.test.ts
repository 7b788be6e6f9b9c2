import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { startChdb, startRedis, tearDown, type DedicatedService } from './support/dedicated';
import { ownerGenerations, startFaultRun, type FaultRun } from './support/fault-run';
import { waitFor } from './support/stack';

/**
 * Issue 10 (h): a healthy but slow batch keeps its group membership. The test's own
 * ClickHouse server is stalled (SIGSTOP) for longer than the session timeout, then
 * resumed (SIGCONT), three times: while the workers' first batches check whether
 * ClickHouse holds history (a fresh deployment), while they take partitions (owner
 * generation and fence in ClickHouse), and while their flusher writes and batches wait
 * for room in it. Being slow must not make a worker a zombie: the group keeps the same
 * members, every partition is taken exactly once (owner generation 1), and the totals
 * end exact in both stores.
 */
const SESSION_TIMEOUT_MS = 6_000;
// Longer than the session timeout, shorter than the workers' ClickHouse request timeout (15 s).
const STALL_MS = 10_000;
const PARTITIONS = 6;

let redis: DedicatedService | undefined;
let chdb: (DedicatedService & { credentials: { username: string; password: string } }) | undefined;
let r: FaultRun | undefined;

afterAll(async () => {
  chdb?.signal('SIGCONT');
  await tearDown([['the fault run', () => r?.close()]], [redis, chdb]);
});

describe('fault: ClickHouse stalls longer than the session timeout', () => {
  it('keeps every worker in the group and ends exact', { timeout: 240_000 }, async () => {
    [redis, chdb] = await Promise.all([startRedis(), startChdb()]);
    r = await startFaultRun('slow_batch', {
      count: 12_000,
      partitions: PARTITIONS,
      stores: { redis, chdb },
      // A small buffer: while ClickHouse stalls, batches soon wait for room in the flusher.
      workerEnv: {
        INGEST_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        INGEST_HEARTBEAT_MS: '500',
        INGEST_MAX_BUFFERED_ROWS: '300',
      },
    });
    r.startWorker();
    r.startWorker();
    const members = await stableMembers(r.kafka, r.run, 2);
    const stalls: string[] = [];
    const stalled = async (what: string, during: () => Promise<void>) => {
      const t = Date.now();
      chdb!.signal('SIGSTOP');
      try {
        await during();
        await new Promise((res) => setTimeout(res, STALL_MS - (Date.now() - t)));
      } finally {
        chdb!.signal('SIGCONT');
      }
      stalls.push(`${what} ${Date.now() - t} ms`);
    };
    const sameMembers = async (after: string) =>
      expect(await stableMembers(r!.kafka, r!.run, 2), `group members after the stall while ${after}`).toEqual(members);

    // A stream stays in one partition, as Kafka's keyed partitioning keeps it: resend
    // fingerprints are kept per partition (ADR 0003), so a resend must land where its original did.
    const streamPartition = new Map<string, number>();
    const byStream = (pick: (hash: number) => number) => (i: number) => {
      const key = String(r!.data[i]!.key);
      let partition = streamPartition.get(key);
      if (partition === undefined) {
        const hash = [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 0);
        streamPartition.set(key, (partition = pick(hash)));
      }
      return partition;
    };
    // Partitions 0-2 get the first events: the first batches find no live state and ask ClickHouse for history.
    await stalled('fresh deployment', () =>
      r!.produce(
        0,
        3_000,
        byStream((h) => h % 3),
      ),
    );
    await r.waitForRedis(3_000);
    await sameMembers('checking for history');
    // Partitions 3-5 get their first events (streams new since): the workers take them (generation and fence in ClickHouse).
    await stalled('taking partitions', () =>
      r!.produce(
        3_000,
        6_000,
        byStream((h) => 3 + (h % 3)),
      ),
    );
    await r.waitForRedis(6_000);
    await sameMembers('taking partitions');
    // All partitions: inserts in flight when ClickHouse stops, then batches wait for room.
    const anywhere = byStream((h) => h % PARTITIONS);
    await r.produce(6_000, 7_500, anywhere);
    await stalled('flushing', () => r!.produce(7_500, 9_000, anywhere));
    await r.waitForRedis(9_000);
    await sameMembers('flushing');
    await r.produce(9_000, 12_000, anywhere);
    await r.expectExact();

    await sameMembers('all');
    const gens = await ownerGenerations(r);
    process.stdout.write(
      `[slow-batch] stalls: ${stalls.join(', ')}; members kept: ${members.join(', ')}; owner generations ${JSON.stringify(Object.fromEntries(gens))}\n`,
    );
    expect([...gens.keys()].sort()).toEqual([...Array(PARTITIONS).keys()]);
    expect([...gens.values()].every((g) => g === 1)).toBe(true);
  });
});

/** The group's member ids once it is stable with `count` members. */
async function stableMembers(kafka: Kafka, group: string, count: number): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await waitFor(
      `group ${group} stable with ${count} members`,
      async () => {
        const [g] = (await admin.describeGroups([group])).groups;
        return g?.state === 'Stable' && g.members.length === count
          ? g.members.map((m) => m.memberId).sort()
          : undefined;
      },
      60_000,
      250,
    );
  } finally {
    await admin.disconnect();
  }
}
