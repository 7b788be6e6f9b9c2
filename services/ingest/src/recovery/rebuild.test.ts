import type { ClaimInput, RebuiltState } from '@livetally/counters';
import type { StoredEventKey } from '@livetally/history';
import { describe, expect, it, vi } from 'vitest';
import { RebuildBusyError, RebuildLockLostError, rebuildLiveState, type RebuildDeps } from './rebuild';

function fakes(options: { lockFree?: boolean; holdLock?: () => boolean; marker?: boolean } = {}) {
  const calls: string[] = [];
  const written: RebuiltState[] = [];
  const live: RebuildDeps['live'] = {
    acquireRebuildLock: vi.fn(async () => (calls.push('lock'), options.lockFree ?? true)),
    refreshRebuildLock: vi.fn(async () => options.holdLock?.() ?? true),
    releaseRebuildLock: vi.fn(async () => (calls.push('release'), true)),
    rebuildLockTtl: vi.fn(async () => 42_000),
    hasMarker: vi.fn(async () => options.marker ?? false),
    scanScopes: vi.fn(async () => (calls.push('scan'), ['all', 'host:gone', 'campaign:c1'])),
    writeRebuiltState: vi.fn(async (s: RebuiltState) => (calls.push('write'), written.push(s), options.holdLock?.() ?? true)),
    publishChanged: vi.fn(async () => undefined),
  };
  const history: RebuildDeps['history'] = {
    maxOffsets: vi.fn(async () => (calls.push('maxOffsets'), new Map([[0, '41'], [3, '7']]))),
    totalsByScope: vi.fn(async (_t: string, upTo: ReadonlyMap<number, string>) => {
      calls.push(`totals ${JSON.stringify([...upTo])}`);
      return new Map([['all', { views: '3', sessions: '1', sessionsEnded: '0', salesFen: '0', refundsFen: '0', orders: '0', items: '0', refunds: '0' }]]);
    }),
    forEachRecentEventKey: vi.fn(async (_t: string, _u: ReadonlyMap<number, string>, _s: number, _c: number, onChunk: (k: StoredEventKey[]) => Promise<void>) => {
      calls.push('fingerprints');
      await onChunk([{ platform: 'p', eventId: 'e', ts: 1, partition: 0, offset: '41' }]);
      return 1;
    }),
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
    expect(f.written[0]).toMatchObject({ topic: 't', remove: ['host:gone'], offsets: new Map([[0, '41'], [3, '7']]) });
    expect([...f.written[0]!.totals.keys()]).toEqual(['all']);
    expect(f.restored).toHaveLength(1);
    expect(result).toMatchObject({ outcome: 'rebuilt', partitions: 2, scopes: 1, removedScopes: 1, keptScopes: [{ kind: 'campaign', scopes: 1 }], fingerprints: 1, offsets: { '0': '41', '3': '7' } });
    expect(f.live.releaseRebuildLock).not.toHaveBeenCalled(); // the write released it atomically
    expect(f.live.publishChanged).toHaveBeenCalledWith(['all', 'host:gone']);
  });

  it('refuses to run beside another rebuild', async () => {
    const f = fakes({ lockFree: false });
    await expect(rebuildLiveState({ ...f, topic: 't', graceMs: 0, lockTtlMs: 30_000 })).rejects.toBeInstanceOf(RebuildBusyError);
    expect(f.history.maxOffsets).not.toHaveBeenCalled();
  });

  it('writes nothing when the lock was lost, and gives it up', async () => {
    const f = fakes({ holdLock: () => false });
    await expect(rebuildLiveState({ ...f, topic: 't', graceMs: 0, lockTtlMs: 30_000 })).rejects.toBeInstanceOf(RebuildLockLostError);
    expect(f.calls).toContain('release');
  });

  it('stops before the write when interrupted', async () => {
    const f = fakes();
    const abort = new AbortController();
    abort.abort();
    await expect(rebuildLiveState({ ...f, topic: 't', graceMs: 10, lockTtlMs: 30_000, signal: abort.signal })).rejects.toThrow(/interrupted/);
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
