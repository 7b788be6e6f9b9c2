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
  } = {},
) {
  const calls: string[] = [];
  const written: RebuiltState[] = [];
  const live: RebuildDeps['live'] = {
    acquireRebuildLock: vi.fn(async () => (calls.push('lock'), options.lockFree ?? true)),
    refreshRebuildLock: vi.fn(async () => options.holdLock?.() ?? true),
    releaseRebuildLock: vi.fn(async () => (calls.push('release'), true)),
    rebuildLockTtl: vi.fn(async () => 42_000),
    hasMarker: vi.fn(async () => options.marker ?? false),
    scanScopes: vi.fn(async () => (calls.push('scan'), ['all', 'host:gone', 'campaign:c1'])),
    writeRebuiltState: vi.fn(async (s: RebuiltState) => {
      calls.push('write');
      written.push(s);
      if (!(options.holdLock?.() ?? true)) return 'lock-lost' as const;
      return options.writeOutcomes?.shift() ?? ('written' as const);
    }),
    publishChanged: vi.fn(async () => undefined),
    renewCatalogueVersion: vi.fn(async () => (calls.push('renew'), '1700000000000')),
  };
  const history: RebuildDeps['history'] = {
    maxOffsets: vi.fn(
      async () => (
        calls.push('maxOffsets'),
        new Map([
          [0, '41'],
          [3, '7'],
        ])
      ),
    ),
    totalsByScope: vi.fn(async (_t: string, upTo: ReadonlyMap<number, string>) => {
      calls.push(`totals ${JSON.stringify([...upTo])}`);
      return new Map([
        [
          'all',
          {
            views: '3',
            sessions: '1',
            sessionsEnded: '0',
            salesFen: '0',
            refundsFen: '0',
            orders: '0',
            items: '0',
            refunds: '0',
            likes: '0',
          },
        ],
      ]);
    }),
    forEachRecentEventKey: vi.fn(
      async (
        _t: string,
        _u: ReadonlyMap<number, string>,
        _s: number,
        _c: number,
        onChunk: (k: StoredEventKey[]) => Promise<void>,
      ) => {
        calls.push('fingerprints');
        await onChunk([{ platform: 'p', eventId: 'e', ts: 1, partition: 0, offset: '41' }]);
        return 1;
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
  it('locks, waits the grace, reads history up to the max offsets, restores fingerprints, then writes everything at once', async () => {
    const f = fakes();
    const result = await rebuildLiveState({ ...f, topic: 't', graceMs: 30, lockTtlMs: 30_000 });
    expect(f.calls[0]).toBe('lock');
    expect(f.calls.filter((c) => c.startsWith('sleep')).length).toBeGreaterThanOrEqual(1);
    const order = f.calls.filter((c) => !c.startsWith('sleep'));
    expect(order).toEqual(['lock', 'maxOffsets', 'totals [[0,"41"],[3,"7"]]', 'scan', 'fingerprints', 'write']);
    expect(f.written[0]).toMatchObject({
      topic: 't',
      remove: ['host:gone'],
      offsets: new Map([
        [0, '41'],
        [3, '7'],
      ]),
    });
    expect([...f.written[0]!.totals.keys()]).toEqual(['all']);
    expect(f.restored).toHaveLength(1);
    expect(result).toMatchObject({
      outcome: 'rebuilt',
      partitions: 2,
      scopes: 1,
      removedScopes: 1,
      keptScopes: [{ kind: 'campaign', scopes: 1 }],
      fingerprints: 1,
      offsets: { '0': '41', '3': '7' },
    });
    expect(f.live.releaseRebuildLock).not.toHaveBeenCalled(); // the write released it atomically
    expect(f.live.publishChanged).toHaveBeenCalledWith(['all', 'host:gone']);
  });

  it('refuses to run beside another rebuild', async () => {
    const f = fakes({ lockFree: false });
    await expect(rebuildLiveState({ ...f, topic: 't', graceMs: 0, lockTtlMs: 30_000 })).rejects.toBeInstanceOf(
      RebuildBusyError,
    );
    expect(f.history.maxOffsets).not.toHaveBeenCalled();
  });

  it('writes nothing when the lock was lost, and gives it up', async () => {
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

  it('does nothing when asked only if missing and the marker is back', async () => {
    const f = fakes({ marker: true });
    const r = await rebuildLiveState({ ...f, topic: 't', graceMs: 10, lockTtlMs: 30_000, onlyIfMissing: true });
    expect(r.outcome).toBe('not-needed');
    expect(f.calls).toEqual(['lock', 'release']);
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

function measureFakes(calls: string[], catalogues: { version: number; campaigns: Campaign[] }[]) {
  const written: { what: string; rows: unknown[] }[] = [];
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
          const values = {
            city: 'Shenzhen',
            district: 'Futian',
            category: 'beauty',
            platform: 'douyin',
            host: 'h1',
            stream: 's1',
          };
          await onChunk([{ values, totals: TOTALS }]);
          return 1;
        },
      ),
      forEachViewerHyperLogLog: vi.fn(
        async (sel: LiveSelection, _c: number, onChunk: (rows: RegisterRow[]) => Promise<void>) => {
          calls.push(`viewers ${label(sel)}`);
          await onChunk([{ scope: 'all', registers: new Uint8Array(16_384).fill(1, 0, 3) }]);
          return 1;
        },
      ),
    },
    writer: {
      clear: vi.fn(async (prefix?: string) => (calls.push(`clear ${prefix ?? '*'}`), 3)),
      addMinuteBuckets: vi.fn(
        async (rows: readonly { scope: string }[]) => (written.push({ what: 'minutes', rows: [...rows] }), rows.length),
      ),
      addToHyperLogLogs: vi.fn(
        async (what: string, pairs: readonly (readonly [string, string])[]) =>
          void written.push({ what, rows: [...pairs] }),
      ),
      setHyperLogLogs: vi.fn(
        async (what: string, rows: readonly RegisterRow[]) => (
          written.push({ what, rows: [...rows] }),
          3 * rows.length
        ),
      ),
      addRankings: vi.fn(
        async (parent: string, rows: readonly unknown[]) => (
          written.push({ what: `rank ${parent}`, rows: [...rows] }),
          rows.length * 2
        ),
      ),
    },
    viewerKinds: ['all', 'city'],
    now: () => NOW,
  };
  return { measures, written };
}

describe('rebuildLiveState with live measures and campaigns', () => {
  it('restores the catalogue first, clears and rewrites every measure at the same cut, and writes campaign totals with the catalogue version', async () => {
    const f = fakes();
    const m = measureFakes(f.calls, [{ version: 7, campaigns: [campaign('month'), campaign('empty')] }]);
    const result = await rebuildLiveState({ ...f, measures: m.measures, topic: 't', graceMs: 0, lockTtlMs: 30_000 });
    const order = f.calls.filter((c) => !c.startsWith('sleep'));
    expect(order).toEqual([
      'lock',
      'catalogue restore',
      'renew',
      'maxOffsets',
      'combinations dimensions',
      'scan',
      'fingerprints',
      'clear *',
      'minutes dimensions since 180 min',
      'viewers dimensions[all,city]',
      'catalogue 7',
      'combinations campaign:month',
      'minutes campaign:month since 180 min',
      'viewers campaign:month',
      'combinations campaign:empty',
      'minutes campaign:empty since 180 min',
      'viewers campaign:empty',
      'write',
    ]);
    const w = f.written[0]!;
    expect(w.catalogue).toEqual({ versionKey: 'p:campaigns:version', version: '7' });
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

  it('redoes the campaign scopes when a campaign changed before the final write', async () => {
    const f = fakes({ writeOutcomes: ['catalogue-changed', 'written'] });
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
    expect(f.written.map((w) => w.catalogue?.version)).toEqual(['7', '8']);
    expect(f.calls.filter((c) => c.startsWith('clear'))).toEqual(['clear *', 'clear campaign:']);
    expect(f.calls.filter((c) => c === 'combinations campaign:month')).toHaveLength(2);
    expect(progress.join('\n')).toContain('a campaign changed during the rebuild');
  });

  it('gives up, writing nothing, when the catalogue keeps changing', async () => {
    const f = fakes({ writeOutcomes: ['catalogue-changed', 'catalogue-changed', 'catalogue-changed'] });
    const m = measureFakes(f.calls, [{ version: 7, campaigns: [] }]);
    await expect(
      rebuildLiveState({ ...f, measures: m.measures, topic: 't', graceMs: 0, lockTtlMs: 30_000 }),
    ).rejects.toThrow(/kept changing/);
    expect(f.calls).toContain('release');
  });
});
