import type { Cluster } from 'ioredis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countUniqueAcross, SummedLeaderboard, type AnyRedis } from '@livetally/live-state';
import { Rng, zipfWeights } from '../services/simulator/src/rng';
import { startRedis, type DedicatedService } from './support/dedicated';
import { onNode, startRedisCluster, type DedicatedRedisCluster } from './support/redis-cluster';
import { uniqueName } from './support/stack';

/**
 * The read-side building blocks of ADR 0003 (a scope's figures summed over its partitions'
 * shares, each share in its partition's slot), against a real Redis Cluster of three masters
 * and, for reference and because the same code must run there, one Redis.
 */
let cluster: DedicatedRedisCluster;
let single: DedicatedService;
let onCluster: Cluster;
let onSingle: Redis;

beforeAll(async () => {
  [cluster, single] = await Promise.all([startRedisCluster(), startRedis()]);
  onCluster = cluster.client();
  onSingle = new Redis(single.url);
}, 60_000);

afterAll(async () => {
  onCluster?.disconnect();
  onSingle?.disconnect();
  await Promise.all([cluster?.remove(), single?.remove()]);
});

/** One key per partition, each in its partition's slot as ADR 0003 tags them. */
function partitionKeys(prefix: string, kind: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => `${prefix}:${kind}:{livetally.events/${p}}:global`);
}

async function slotsOf(keys: readonly string[]): Promise<Set<number>> {
  return new Set(await Promise.all(keys.map((key) => onCluster.cluster('KEYSLOT', key))));
}

async function mastersOf(keys: readonly string[]): Promise<Set<number>> {
  return new Set(await Promise.all(keys.map(async (key) => (await cluster.masterOf(key)).port)));
}

/** Scratch keys left under the prefix on every master of the cluster and on the single Redis. */
async function leftovers(prefix: string): Promise<number> {
  const masters = await cluster.masters();
  const counts = await Promise.all(
    masters.map((m) => onNode(m, async (c) => (await c.keys(`${prefix}:tmp:*`)).length)),
  );
  return counts.reduce((a, b) => a + b, 0) + (await onSingle.keys(`${prefix}:tmp:*`)).length;
}

async function inChunks<T>(items: readonly T[], size: number, write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await write(items.slice(i, i + size));
}

describe('countUniqueAcross: PFCOUNT of HyperLogLogs in different slots', () => {
  /** Member i goes to partition i mod P, every fifth one to the next partition as well. */
  function spread(members: readonly string[], partitions: number): string[][] {
    const shares = Array.from({ length: partitions }, () => [] as string[]);
    members.forEach((m, i) => {
      shares[i % partitions]!.push(m);
      if (i % 5 === 0 && partitions > 1) shares[(i + 1) % partitions]!.push(m);
    });
    return shares;
  }

  async function pfaddAll(client: AnyRedis, key: string, members: readonly string[]): Promise<void> {
    await inChunks(members, 10_000, (chunk) => client.pfadd(key, ...chunk));
  }

  /** Redis's HyperLogLog header: "HYLL", then the encoding (0 dense, 1 sparse). */
  async function encodings(client: AnyRedis, keys: readonly string[]): Promise<Set<string>> {
    const bytes = await Promise.all(keys.map((key) => client.getBuffer(key)));
    return new Set(bytes.map((b) => (b?.[4] === 0 ? 'dense' : b?.[4] === 1 ? 'sparse' : 'missing')));
  }

  const costs: string[] = [];
  afterAll(() => {
    console.log(`countUniqueAcross on the cluster (bytes read and written back once):\n${costs.join('\n')}`);
  });

  for (const size of [100, 5_000, 200_000]) {
    it(
      `gives the PFCOUNT of one key holding all ${size} members, whatever the partitions`,
      { timeout: 60_000 },
      async () => {
        const prefix = uniqueName('ltu');
        const members = Array.from({ length: size }, (_, i) => `viewer-${i}`);
        await pfaddAll(onSingle, `${prefix}:one`, members);
        const expected = await onSingle.pfcount(`${prefix}:one`);

        for (const partitions of [1, 3, 12]) {
          const keys = partitionKeys(prefix, `u${partitions}`, partitions);
          const shares = spread(members, partitions);
          for (const client of [onCluster, onSingle] as AnyRedis[])
            await Promise.all(keys.map((key, p) => pfaddAll(client, key, shares[p]!)));
          expect((await slotsOf(keys)).size).toBe(partitions);
          if (partitions === 12) expect((await mastersOf(keys)).size).toBe(3);
          if (size === 100) expect(await encodings(onCluster, keys)).toEqual(new Set(['sparse']));
          if (size === 200_000) expect(await encodings(onCluster, keys)).toEqual(new Set(['dense']));
          if (partitions > 1) {
            await expect(onCluster.pfcount(...keys)).rejects.toThrow(/CROSSSLOT/);
            expect(await onSingle.pfcount(...keys)).toBe(expected);
          }

          const started = performance.now();
          expect(await countUniqueAcross(onCluster, keys, { prefix })).toBe(expected);
          const ms = performance.now() - started;
          const bytes = (await Promise.all(keys.map((key) => onCluster.strlen(key)))).reduce((a, b) => a + b, 0);
          costs.push(`${size} members over ${partitions} keys: ${bytes} B of HyperLogLogs, ${ms.toFixed(1)} ms`);
          expect(await countUniqueAcross(onSingle, keys, { prefix })).toBe(expected);
        }
        // Close to the truth too (standard error 0.81%), so the copies were counted as HyperLogLogs.
        expect(Math.abs(expected - size) / size).toBeLessThan(0.03);
        expect(await leftovers(prefix)).toBe(0);
      },
    );
  }

  it('counts missing keys as empty', async () => {
    const prefix = uniqueName('ltu');
    const keys = partitionKeys(prefix, 'u', 3);
    expect(await countUniqueAcross(onCluster, keys, { prefix })).toBe(0);
    await onCluster.pfadd(keys[1]!, 'a', 'b', 'c');
    expect(await countUniqueAcross(onCluster, keys, { prefix })).toBe(3);
    expect(await countUniqueAcross(onSingle, keys, { prefix })).toBe(0);
    expect(await leftovers(prefix)).toBe(0);
  });
});

describe('SummedLeaderboard: top-k of the sum of sorted sets in different slots', () => {
  type Shares = Map<string, number>[];
  /** In Redis's order: member bytes descending. */
  const TIED_AT_TOP = ['\u{1F600}-top', '\uFF5E-top', 'z-top', 'a-top'];

  /**
   * P sets of integer scores (sums are then exact in doubles, in any order). Skewed: Zipf
   * popularity split at random over the partitions, plus four members tied at the top; flat:
   * small uniform scores, many ties. A tenth of the names start with characters whose UTF-8
   * and UTF-16 orders differ, so ties are broken as Redis breaks them or the lists differ.
   */
  function dataset(kind: 'skewed' | 'flat', partitions: number, seed: number): Shares {
    const rng = new Rng(seed);
    const lead = ['\u{1F600}', '\uFF5E'];
    const names = Array.from({ length: 3_000 }, (_, i) =>
      i % 10 === 0 ? `${lead[i % 20 === 0 ? 0 : 1]}${i}` : `host-${i}`,
    );
    const weights = zipfWeights(names.length);
    const shares: Shares = Array.from({ length: partitions }, () => new Map());
    names.forEach((name, i) => {
      for (const share of shares) {
        if (rng.next() < 0.3) continue;
        share.set(name, kind === 'skewed' ? Math.round(weights[i]! * rng.int(0, 20_000)) : rng.int(0, 20));
      }
    });
    if (kind === 'skewed')
      TIED_AT_TOP.forEach((name, i) => {
        // The same sum (10,000,000 plus 1 from each partition), split differently.
        shares[i % partitions]!.set(name, 10_000_000);
        for (const share of shares) share.set(name, (share.get(name) ?? 0) + 1);
      });
    return shares;
  }

  async function load(client: AnyRedis, keys: readonly string[], shares: Shares): Promise<void> {
    await Promise.all(
      keys.map((key, p) =>
        inChunks([...shares[p]!], 2_000, (chunk) => client.zadd(key, ...chunk.flatMap(([m, s]) => [s, m]))),
      ),
    );
  }

  async function unionTop(keys: readonly string[], k: number, into: string) {
    await onSingle.zunionstore(into, keys.length, ...keys);
    const flat = await onSingle.zrevrange(into, 0, k - 1, 'WITHSCORES');
    return Array.from({ length: flat.length / 2 }, (_, i) => ({
      member: flat[2 * i]!,
      score: Number(flat[2 * i + 1]),
    }));
  }

  const counts: string[] = [];
  afterAll(() => {
    console.log(`top-k commands (cluster):\n${counts.join('\n')}`);
  });

  for (const kind of ['skewed', 'flat'] as const) {
    for (const partitions of [1, 3, 12]) {
      it(
        `${kind} data over ${partitions} partitions: the top 1, 10 and 100 of ZUNIONSTORE`,
        { timeout: 60_000 },
        async () => {
          const prefix = uniqueName('ltr');
          const keys = partitionKeys(prefix, 'r', partitions);
          const shares = dataset(kind, partitions, partitions * 7919 + kind.length);
          await Promise.all([load(onCluster, keys, shares), load(onSingle, keys, shares)]);
          expect((await slotsOf(keys)).size).toBe(partitions);
          if (partitions > 1)
            await expect(onCluster.zunionstore(`${prefix}:u`, partitions, ...keys)).rejects.toThrow(/CROSSSLOT/);

          for (const k of [1, 10, 100]) {
            const expected = await unionTop(keys, k, `${prefix}:union`);
            const fromCluster = await new SummedLeaderboard(onCluster, keys).top(k);
            const fromSingle = await new SummedLeaderboard(onSingle, keys).top(k);
            expect(fromCluster.top).toEqual(expected);
            expect(fromSingle.top).toEqual(expected);
            expect(fromSingle.commands).toBe(fromCluster.commands);
            // Pages of 100 whatever k: fewer rounds where ties and flat data make k-sized pages slow.
            const paged = await new SummedLeaderboard(onCluster, keys).top(k, { pageSize: 100 });
            expect(paged.top).toEqual(expected);
            counts.push(
              `${kind} P=${partitions} k=${k}: ${fromCluster.commands} commands in ${fromCluster.rounds} rounds` +
                ` (pages of 100: ${paged.commands} in ${paged.rounds})`,
            );
          }
          if (kind === 'skewed')
            expect((await unionTop(keys, 4, `${prefix}:union`)).map((e) => e.member)).toEqual(TIED_AT_TOP);

          const board = new SummedLeaderboard(onCluster, keys);
          for (const member of ['host-1', 'host-1234', '\uFF5E10', 'nobody'])
            expect(await board.scoreOf(member)).toBe(
              (await onSingle.zscore(`${prefix}:union`, member)) === null
                ? null
                : Number(await onSingle.zscore(`${prefix}:union`, member)),
            );
        },
      );
    }
  }

  it('does not stop while a member not yet read could tie the k-th sum and outrank it by name', async () => {
    const prefix = uniqueName('ltr');
    const keys = partitionKeys(prefix, 'r', 2);
    // After one round of pages of 2: a sums 6 + 4 = 10, the floors sum 5 + 5 = 10, and u
    // (5 + 5, read in neither page) outranks a by name.
    await onCluster.zadd(keys[0]!, 6, 'a', 5, 'x', 5, 'u');
    await onCluster.zadd(keys[1]!, 5, 'y', 5, 'v', 5, 'u', 4, 'a');
    const read = await new SummedLeaderboard(onCluster, keys).top(1, { pageSize: 2 });
    expect(read.top).toEqual([{ member: 'u', score: 10 }]);
    expect(read.rounds).toBe(2);
  });

  it('reads every member of sets shorter than k, and bounds its rounds', async () => {
    const prefix = uniqueName('ltr');
    const keys = partitionKeys(prefix, 'r', 3);
    await onCluster.zadd(keys[0]!, 5, 'a', 3, 'b');
    await onCluster.zadd(keys[2]!, 4, 'b');
    const board = new SummedLeaderboard(onCluster, keys);
    expect((await board.top(10)).top).toEqual([
      { member: 'b', score: 7 },
      { member: 'a', score: 5 },
    ]);
    await expect(board.top(1, { maxRounds: 1 })).rejects.toThrow(/did not settle within 1 rounds/);
    expect(await new SummedLeaderboard(onCluster, partitionKeys(prefix, 'none', 3)).top(5)).toMatchObject({ top: [] });
  });
});
