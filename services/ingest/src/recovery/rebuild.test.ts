import { describe, expect, it, vi } from 'vitest';
import type { Campaign } from '@livetally/campaigns';
import type { ClaimInput, RebuiltState, RebuiltWriteOutcome } from '@livetally/live-state';
import type { CombinationRow, LiveSelection, MinuteBucketRow, RegisterRow, StoredEventKey } from '@livetally/history';
import { RebuildBusyError, RebuildLockLostError, rebuildLiveState, type RebuildDeps } from './rebuild';

function fakes(
  options: {
    lockFree?: boolean;
    holdLock?: () => boolean;
    marker?: boolean;
    writeOutcomes?: RebuiltWriteOutcome[];
    /** The highest stored offset per partition (default partitions 0 and 3). */
    offsets?: [number, string][];
  } = {},
) {
  const calls: string[] = [];
  const written: RebuiltState[] = [];
  const offsets = new Map(
    options.offsets ?? [
      [0, '41'],
      [3, '7'],
    ],
  );
  const live: RebuildDeps['live'] = {
    partitionStatuses: vi.fn(
      async () => new Map([...offsets.keys()].map((p) => [`t/${p}`, options.marker ? 'ready' : 'missing'] as const)),
    ),
    acquireRebuildLocks: vi.fn(async () => (calls.push('lock'), options.lockFree ?? true)),
    refreshRebuildLocks: vi.fn(async () => options.holdLock?.() ?? true),
    releaseRebuildLocks: vi.fn(
      async (_t: string, partitions: readonly number[]) => (calls.push('release'), partitions.length),
    ),
    rebuildLockTtl: vi.fn(async () => 42_000),
    registerPartitions: vi.fn(async () => void calls.push('register')),
    // Partition 0 holds shares of three scopes; partition 3 none.
    scanShares: vi.fn(
      async () => (calls.push('scan'), new Map([['t/0', new Set(['all', 'host:gone', 'campaign:c1'])]])),
    ),
    writeRebuiltState: vi.fn(async (s: RebuiltState) => {
      calls.push(`write ${s.partition}`);
      written.push(s);
      if (!(options.holdLock?.() ?? true)) return 'lock-lost' as const;
      return options.writeOutcomes?.shift() ?? ('written' as const);
    }),
    publishChanged: vi.fn(async () => undefined),
    renewCatalogueVersion: vi.fn(async () => (calls.push('renew'), '1700000000000')),
  };
  const history: RebuildDeps['history'] = {
    maxOffsets: vi.fn(async () => (calls.push('maxOffsets'), new Map(offsets))),
    totalsByPartition: vi.fn(async (_t: string, upTo: ReadonlyMap<number, string>) => {
      calls.push(`totals ${JSON.stringify([...upTo])}`);
      const all = {
        views: '3',
        sessions: '1',
        sessionsEnded: '0',
        salesFen: '0',
        refundsFen: '0',
        orders: '0',
        items: '0',
        refunds: '0',
        likes: '0',
      };
      return new Map([...upTo.keys()].map((p) => [p, new Map([['all', all]])]));
    }),
    forEachRecentEventKey: vi.fn(
      async (
        _t: string,
        upTo: ReadonlyMap<number, string>,
        _s: number,
        _c: number,
        onChunk: (k: StoredEventKey[]) => Promise<void>,
      ) => {
        calls.push(`fingerprints ${JSON.stringify([...upTo])}`);
        const keys = [...upTo].map(([partition, offset]) => ({
          platform: 'p',
          eventId: 'e',
          ts: 1,
          partition,
          offset,
        }));
        await onChunk(keys);
        return keys.length;
      },
    ),
  };
  const restored: ClaimInput[] = [];
  const dedup = { restore: vi.fn(async (k: readonly ClaimInput[]) => void restored.push(...k)), windowSeconds: 60 };
  const sleep = vi.fn(async (ms: number) => {
    calls.push(`sleep ${ms}`);
    await new Promise((r) => setTimeout(r, ms));
  });
  return { calls, written, live, history, dedup, restored, sleep };
}

describe('rebuildLiveState', () => {
  it('locks every partition, waits the grace, reads history once for all of them, then per partition restores its fingerprints and writes it at once', async () => {
    const f = fakes();
    const result = await rebuildLiveState({ ...f, topic: 't', graceMs: 30, lockTtlMs: 30_000 });
    expect(f.live.acquireRebuildLocks).toHaveBeenCalledWith('t', [0, 3], expect.any(String), 30_000);
    expect(f.calls.filter((c) => c.startsWith('sleep')).length).toBeGreaterThanOrEqual(1);
    const order = f.calls.filter((c) => !c.startsWith('sleep'));
    expect(order).toEqual([
      'maxOffsets',
      'lock',
      'register',
      'maxOffsets',
      'scan',
      'totals [[0,"41"],[3,"7"]]',
      'fingerprints [[0,"41"],[3,"7"]]',
      'write 0',
      'write 3',
    ]);
    expect(f.written[0]).toMatchObject({ topic: 't', partition: 0, remove: ['host:gone'], offset: '41' });
    expect(f.written[1]).toMatchObject({ topic: 't', partition: 3, remove: [], offset: '7' });
    expect([...f.written[0]!.totals.keys()]).toEqual(['all']);
    expect(f.restored.map((k) => [k.topic, k.partition])).toEqual([
      ['t', 0],
      ['t', 3],
    ]);
    expect(result).toMatchObject({
      outcome: 'rebuilt',
      partitions: 2,
      scopes: 1,
      removedScopes: 1,
      keptScopes: [{ kind: 'campaign', scopes: 1 }],
      fingerprints: 2,
      offsets: { '0': '41', '3': '7' },
    });
    expect(f.live.releaseRebuildLocks).not.toHaveBeenCalled(); // each write released its lock atomically
    // Per partition (ADR 0003): each rebuilt partition's channel says which scopes changed.
    expect(f.live.publishChanged).toHaveBeenCalledWith('t', 0, ['all', 'host:gone']);
    expect(f.live.publishChanged).toHaveBeenCalledWith('t', 3, ['all']);
  });

  it('refuses to run beside another rebuild', async () => {
    const f = fakes({ lockFree: false });
    await expect(rebuildLiveState({ ...f, topic: 't', graceMs: 0, lockTtlMs: 30_000 })).rejects.toBeInstanceOf(
      RebuildBusyError,
    );
    expect(f.history.totalsByPartition).not.toHaveBeenCalled();
  });

  it('writes nothing when the lock was lost, and gives the locks up', async () => {
    const f = fakes({ holdLock: () => false });
    await expect(rebuildLiveState({ ...f, topic: 't', graceMs: 0, lockTtlMs: 30_000 })).rejects.toBeInstanceOf(
      RebuildLockLostError,
    );
    expect(f.calls).toContain('release');
  });

  it('stops before the write when interrupted', async () => {
    const f = fakes();
    const abort = new AbortController();
    abort.abort();
    await expect(
      rebuildLiveState({ ...f, topic: 't', graceMs: 10, lockTtlMs: 30_000, signal: abort.signal }),
    ).rejects.toThrow(/interrupted/);
    expect(f.live.writeRebuiltState).not.toHaveBeenCalled();
    expect(f.calls).toContain('release');
  });

  it('does nothing when asked only if missing and every marker is there', async () => {
    const f = fakes({ marker: true });
    const r = await rebuildLiveState({ ...f, topic: 't', graceMs: 10, lockTtlMs: 30_000, onlyIfMissing: true });
    expect(r.outcome).toBe('not-needed');
    expect(f.calls).toEqual(['maxOffsets']);
  });
});

const TOTALS = {
  views: '2',
  sessions: '0',
  sessionsEnded: '0',
  salesFen: '500',
  refundsFen: '0',
  orders: '1',
  items: '1',
  refunds: '0',
  likes: '0',
};
const NOW = Date.UTC(2026, 9, 1, 12, 0, 0);
const campaign = (id: string, version = 1): Campaign => ({
  id,
  name: id,
  startsAt: NOW - 86_400_000,
  endsAt: NOW + 86_400_000,
  timeZone: 'Asia/Shanghai',
  filters: { districts: ['Futian'] },
  targets: {},
  status: 'active',
  createdAt: 0,
  updatedAt: 0,
  version,
});

/** What a fake read answers for each partition of the selection's cut: its own stream, host and register rank. */
const cutOf = (sel: LiveSelection) => (sel.scopes === 'campaign' ? sel.slice.upTo : sel.upTo);
const valuesOf = (partition: number) => ({
  city: 'Shenzhen',
  district: 'Futian',
  category: 'beauty',
  platform: 'douyin',
  host: `h${partition === 0 ? 1 : partition}`,
  stream: `s${partition === 0 ? 1 : partition}`,
});

function measureFakes(calls: string[], catalogues: { version: number; campaigns: Campaign[] }[]) {
  const written: { what: string; partition: number; rows: unknown[] }[] = [];
  const label = (sel: LiveSelection) =>
    sel.scopes === 'campaign' ? sel.scope : `dimensions${sel.kinds ? `[${sel.kinds.join(',')}]` : ''}`;
  const measures: NonNullable<RebuildDeps['measures']> = {
    catalogue: {
      restore: vi.fn(async () => (calls.push('catalogue restore'), 1)),
      snapshot: vi.fn(async () => {
        const c = catalogues.length > 1 ? catalogues.shift()! : catalogues[0]!;
        calls.push(`catalogue ${c.version}`);
        return c;
      }),
      versionKey: 'p:campaigns:version',
    },
    history: {
      forEachMinuteBucket: vi.fn(
        async (sel: LiveSelection, since: number, _c: number, onChunk: (rows: MinuteBucketRow[]) => Promise<void>) => {
          calls.push(`minutes ${label(sel)} since ${(NOW - since) / 60_000} min`);
          await onChunk([{ scope: sel.scopes === 'campaign' ? sel.scope : 'all', t: NOW - 60_000, totals: TOTALS }]);
          return 1;
        },
      ),
      forEachCombination: vi.fn(
        async (sel: LiveSelection, _c: number, onChunk: (rows: CombinationRow[]) => Promise<void>) => {
          calls.push(`combinations ${label(sel)}`);
          if (sel.scopes === 'campaign' && sel.scope === 'campaign:empty') return 0;
          const rows = [...cutOf(sel).keys()].map((partition) => ({
            partition,
            values: valuesOf(partition),
            totals: TOTALS,
          }));
          await onChunk(rows);
          return rows.length;
        },
      ),
      forEachViewerHyperLogLog: vi.fn(
        async (sel: LiveSelection, _c: number, onChunk: (rows: RegisterRow[]) => Promise<void>) => {
          calls.push(`viewers ${label(sel)}`);
          const rows = [...cutOf(sel).keys()].map((partition) => ({
            scope: 'all',
            partition,
            registers: new Uint8Array(16_384).fill(partition + 1, 0, 3),
          }));
          await onChunk(rows);
          return rows.length;
        },
      ),
    },
    writer: {
      partition: (_topic: string, partition: number) => writerOf(partition),
    },
    viewerKinds: ['all', 'city'],
    now: () => NOW,
  };
  const writerOf = (partition: number) => ({
    clear: vi.fn(async (prefix?: string) => (calls.push(`clear ${prefix ?? '*'}`), 3)),
    addMinuteBuckets: vi.fn(
      async (rows: readonly { scope: string }[]) => (
        written.push({ what: 'minutes', partition, rows: [...rows] }),
        rows.length
      ),
    ),
    addToHyperLogLogs: vi.fn(
      async (what: string, pairs: readonly (readonly [string, string])[]) =>
        void written.push({ what, partition, rows: [...pairs] }),
    ),
    setHyperLogLogs: vi.fn(
      async (what: string, rows: readonly { scope: string; registers: Uint8Array }[]) => (
        written.push({ what, partition, rows: [...rows] }),
        3 * rows.length
      ),
    ),
    addRankings: vi.fn(
      async (parent: string, rows: readonly unknown[]) => (
        written.push({ what: `rank ${parent}`, partition, rows: [...rows] }),
        rows.length * 2
      ),
    ),
  });
  return { measures, written };
}

describe('rebuildLiveState with live measures and campaigns', () => {
  it('restores the catalogue first, clears and rewrites every measure at the same cut, and writes campaign totals with the catalogue version', async () => {
    const f = fakes({ offsets: [[0, '41']] });
    const m = measureFakes(f.calls, [{ version: 7, campaigns: [campaign('month'), campaign('empty')] }]);
    const result = await rebuildLiveState({ ...f, measures: m.measures, topic: 't', graceMs: 0, lockTtlMs: 30_000 });
    const order = f.calls.filter((c) => !c.startsWith('sleep'));
    expect(order).toEqual([
      'maxOffsets',
      'lock',
      'catalogue restore',
      'renew',
      'register',
      'maxOffsets',
      'scan',
      // Every read of ClickHouse first (minute buckets aside: read per partition, bounded by event time)…
      'combinations dimensions',
      'viewers dimensions[all,city]',
      'fingerprints [[0,"41"]]',
      'catalogue 7',
      'combinations campaign:month',
      'viewers campaign:month',
      'combinations campaign:empty',
      'viewers campaign:empty',
      // …then the partition's writes, in the order they always had.
      'clear *',
      'minutes dimensions since 180 min',
      'minutes campaign:month since 180 min',
      'minutes campaign:empty since 180 min',
      'write 0',
    ]);
    const w = f.written[0]!;
    expect(w.catalogueVersion).toBe('7');
    // Every dimension scope of the one combination, from its sums; the campaign with rows.
    expect([...w.totals.keys()]).toEqual([
      'all',
      'city:Shenzhen',
      'district:Futian',
      'category:beauty',
      'platform:douyin',
      'host:h1',
      'stream:s1',
      'campaign:month',
    ]);
    expect(w.totals.get('district:Futian')).toEqual(TOTALS);
    // campaign:c1 has no definition any more and host:gone no rows: both go.
    expect(w.remove).toEqual(['host:gone', 'campaign:c1']);
    // One member per leaderboard dimension from the one combination; the empty campaign has none.
    expect(m.written.filter((x) => x.what.startsWith('rank')).map((x) => [x.what, x.rows.length])).toEqual([
      ['rank all', 5],
      ['rank campaign:month', 5],
    ]);
    expect(m.written.filter((x) => x.what === 'hosts').map((x) => x.rows)).toEqual([
      [
        ['all', 'h1'],
        ['city:Shenzhen', 'h1'],
        ['district:Futian', 'h1'],
        ['category:beauty', 'h1'],
        ['platform:douyin', 'h1'],
        ['host:h1', 'h1'],
        ['stream:s1', 'h1'],
      ],
      [['campaign:month', 'h1']],
    ]);
    expect(result).toMatchObject({
      campaigns: 2,
      keptScopes: [],
      scopes: 8,
      removedScopes: 2,
      measures: {
        minuteBuckets: 3,
        clearedKeys: 3,
        viewerKinds: ['all', 'city'],
        viewerScopes: 3,
        viewerRegisters: 9,
        rankEntries: 20,
      },
    });
    expect(f.live.renewCatalogueVersion).toHaveBeenCalledWith('p:campaigns:version', expect.any(Number));
  });

  it("reads each pass once for every partition's cut and hands each partition's rows only to its own writer", async () => {
    const f = fakes(); // partitions 0 (through offset 41) and 3 (through 7)
    const m = measureFakes(f.calls, [{ version: 7, campaigns: [campaign('month')] }]);
    const writerOf = vi.spyOn(m.measures.writer, 'partition');
    await rebuildLiveState({ ...f, measures: m.measures, topic: 't', graceMs: 0, lockTtlMs: 30_000 });
    const cuts = (fn: unknown) =>
      vi.mocked(fn as (sel: LiveSelection) => unknown).mock.calls.map(([sel]) => JSON.stringify([...cutOf(sel)]));
    const both = '[[0,"41"],[3,"7"]]';
    expect(cuts(m.measures.history.forEachCombination)).toEqual([both, both]); // dimensions, then campaign:month
    expect(cuts(m.measures.history.forEachViewerHyperLogLog)).toEqual([both, both]);
    expect(vi.mocked(f.history.forEachRecentEventKey).mock.calls.map(([, upTo]) => JSON.stringify([...upTo]))).toEqual([
      both,
    ]);
    // Minute buckets are read per partition, at its own cut only.
    expect(cuts(m.measures.history.forEachMinuteBucket)).toEqual([
      '[[0,"41"]]',
      '[[0,"41"]]',
      '[[3,"7"]]',
      '[[3,"7"]]',
    ]);
    expect(writerOf.mock.calls).toEqual([
      ['t', 0],
      ['t', 3],
    ]);
    // Each partition's writer gets its own rows only: its own host, its own members, its own registers.
    const hostsOf = (p: number) =>
      m.written.filter((w) => w.what === 'hosts' && w.partition === p).flatMap((w) => w.rows as [string, string][]);
    expect(new Set(hostsOf(0).map(([, host]) => host))).toEqual(new Set(['h1']));
    expect(new Set(hostsOf(3).map(([, host]) => host))).toEqual(new Set(['h3']));
    const membersOf = (p: number) =>
      m.written
        .filter((w) => w.what === 'rank all' && w.partition === p)
        .flatMap((w) => (w.rows as { dimension: string; member: string }[]).filter((r) => r.dimension === 'host'))
        .map((r) => r.member);
    expect([membersOf(0), membersOf(3)]).toEqual([['h1'], ['h3']]);
    const ranksOf = (p: number) =>
      m.written
        .filter((w) => w.what === 'viewers' && w.partition === p)
        .flatMap((w) => (w.rows as { registers: Uint8Array }[]).map((r) => [...r.registers.slice(0, 4)]));
    expect(ranksOf(0)).toEqual([
      [1, 1, 1, 0],
      [1, 1, 1, 0],
    ]); // dimensions, campaign:month
    expect(ranksOf(3)).toEqual([
      [4, 4, 4, 0],
      [4, 4, 4, 0],
    ]);
    expect(f.restored.map((k) => k.partition)).toEqual([0, 3]);
    // Each partition's totals shares come from its own combinations, not from totalsByPartition.
    expect(f.history.totalsByPartition).not.toHaveBeenCalled();
    expect(f.written.map((w) => [w.partition, w.totals.get('all'), w.totals.get('campaign:month')])).toEqual([
      [0, TOTALS, TOTALS],
      [3, TOTALS, TOTALS],
    ]);
    expect([...f.written[0]!.totals.keys()]).toContain('stream:s1');
    expect([...f.written[0]!.totals.keys()]).not.toContain('stream:s3');
    expect([...f.written[1]!.totals.keys()]).toContain('stream:s3');
  });

  it('reads ClickHouse as many times for twelve partitions as for one', async () => {
    const passes = async (n: number) => {
      const f = fakes({ offsets: Array.from({ length: n }, (_, p) => [p, String(100 + p)] as [number, string]) });
      const m = measureFakes(f.calls, [{ version: 7, campaigns: [campaign('month')] }]);
      await rebuildLiveState({ ...f, measures: m.measures, topic: 't', graceMs: 0, lockTtlMs: 30_000 });
      const { history } = m.measures;
      return {
        combinations: vi.mocked(history.forEachCombination).mock.calls.length,
        viewers: vi.mocked(history.forEachViewerHyperLogLog).mock.calls.length,
        fingerprints: vi.mocked(f.history.forEachRecentEventKey).mock.calls.length,
        catalogue: vi.mocked(m.measures.catalogue.snapshot).mock.calls.length,
        writes: f.written.length,
      };
    };
    const one = await passes(1);
    const twelve = await passes(12);
    expect(one).toEqual({ combinations: 2, viewers: 2, fingerprints: 1, catalogue: 1, writes: 1 });
    expect(twelve).toEqual({ ...one, writes: 12 });
  });

  it('redoes the campaign scopes when a campaign changed before the final write', async () => {
    const f = fakes({ writeOutcomes: ['catalogue-changed', 'written'], offsets: [[0, '41']] });
    const m = measureFakes(f.calls, [
      { version: 7, campaigns: [campaign('month')] },
      { version: 8, campaigns: [campaign('month', 2)] },
    ]);
    const progress: string[] = [];
    await rebuildLiveState({
      ...f,
      measures: m.measures,
      topic: 't',
      graceMs: 0,
      lockTtlMs: 30_000,
      progress: (msg) => void progress.push(msg),
    });
    expect(f.written.map((w) => w.catalogueVersion)).toEqual(['7', '8']);
    expect(f.calls.filter((c) => c.startsWith('clear'))).toEqual(['clear *', 'clear campaign:']);
    expect(f.calls.filter((c) => c === 'combinations campaign:month')).toHaveLength(2);
    expect(progress.join('\n')).toContain('a campaign changed during the rebuild');
  });

  it('gives up, writing nothing, when the catalogue keeps changing', async () => {
    const f = fakes({
      writeOutcomes: ['catalogue-changed', 'catalogue-changed', 'catalogue-changed'],
      offsets: [[0, '41']],
    });
    const m = measureFakes(f.calls, [{ version: 7, campaigns: [] }]);
    await expect(
      rebuildLiveState({ ...f, measures: m.measures, topic: 't', graceMs: 0, lockTtlMs: 30_000 }),
    ).rejects.toThrow(/kept changing/);
    expect(f.calls).toContain('release');
  });
});
