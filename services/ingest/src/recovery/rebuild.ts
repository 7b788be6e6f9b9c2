import { randomUUID } from 'node:crypto';
import { scopeKind, type ClaimInput, type LiveStateStore, type TotalField } from '@livetally/counters';
import { HISTORY_SCOPE_KINDS, type EventHistory } from '@livetally/history';

/**
 * Restores the live state in Redis from ClickHouse while ingest workers keep running:
 *
 * 1. take the rebuild lock (TTL, refreshed while running): every counter and plan
 *    write refuses from now on, and every worker's pre-insert check fails;
 * 2. wait a grace period longer than the longest ClickHouse insert that may have
 *    passed its pre-insert check before the lock, so every such row has landed;
 * 3. read the highest stored offset per partition, then every scope's totals over
 *    exactly the rows at or below those offsets (server-side GROUP BY);
 * 4. restore the platform-resend fingerprints of rows stored within the dedup
 *    window (so resends arriving later still count once);
 * 5. in one atomic step, and only while still holding the lock: replace all scope
 *    totals, delete scopes history no longer backs, replace the applied offsets
 *    (stale plans go with them), set the marker and release the lock.
 *
 * Workers then skip everything at or below the restored offsets and apply the rest.
 */

export interface RebuildDeps {
  live: Pick<LiveStateStore, 'acquireRebuildLock' | 'refreshRebuildLock' | 'releaseRebuildLock' | 'rebuildLockTtl' | 'scanScopes' | 'writeRebuiltState' | 'publishChanged' | 'hasMarker'>;
  history: Pick<EventHistory, 'maxOffsets' | 'totalsByScope' | 'forEachRecentEventKey'>;
  /** Restores resend fingerprints; left out when there is no deduplication to restore. */
  dedup?: { restore(inputs: readonly ClaimInput[]): Promise<void>; windowSeconds: number };
  topic: string;
  graceMs: number;
  lockTtlMs: number;
  /** Only rebuild when the marker is still missing once the lock is held (automatic rebuilds). */
  onlyIfMissing?: boolean;
  progress?: (message: string, data?: Record<string, unknown>) => void;
  sleep?: (ms: number) => Promise<void>;
  /** Aborts before the write (Ctrl-C); the lock is released and nothing is written. */
  signal?: AbortSignal;
}

export interface RebuildResult {
  outcome: 'rebuilt' | 'not-needed';
  partitions: number;
  /** Highest stored offset per partition: the restored applied offsets. */
  offsets: Record<string, string>;
  scopes: number;
  removedScopes: number;
  /** Scopes of kinds history cannot compute, left as they were. */
  keptScopes: { kind: string; scopes: number }[];
  fingerprints: number;
  timingsMs: Record<string, number>;
}

export class RebuildBusyError extends Error {
  constructor(ttlMs: number) {
    super(`another rebuild holds the lock (expires in ${Math.max(0, Math.round(ttlMs / 1000))} s unless refreshed); not starting a second one`);
    this.name = 'RebuildBusyError';
  }
}

export class RebuildLockLostError extends Error {
  constructor() {
    super('the rebuild lock was lost (expired or taken over) before the state was written; nothing was written');
    this.name = 'RebuildLockLostError';
  }
}

const FINGERPRINT_CHUNK = 5_000;

export async function rebuildLiveState(deps: RebuildDeps): Promise<RebuildResult> {
  const { live, history, topic } = deps;
  const progress = deps.progress ?? (() => undefined);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const timingsMs: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      timingsMs[name] = Math.round(performance.now() - t);
    }
  };

  const token = randomUUID();
  if (!(await live.acquireRebuildLock(token, deps.lockTtlMs))) throw new RebuildBusyError(await live.rebuildLockTtl());
  progress('rebuild lock taken: counter writes and ClickHouse inserts are paused', { ttlMs: deps.lockTtlMs });

  let lost = false;
  let refreshing = Promise.resolve();
  const refresher = setInterval(() => {
    refreshing = live.refreshRebuildLock(token, deps.lockTtlMs).then(
      (held) => {
        if (!held) lost = true;
      },
      () => undefined, // a failed refresh is retried on the next tick; the TTL leaves room
    );
  }, Math.max(250, Math.floor(deps.lockTtlMs / 3)));
  const checkLock = () => {
    if (deps.signal?.aborted) throw new Error('rebuild interrupted before the write; nothing was written');
    if (lost) throw new RebuildLockLostError();
  };

  let written = false;
  try {
    // Checked under the lock: a concurrent rebuild may have finished just before.
    if (deps.onlyIfMissing && (await live.hasMarker())) {
      progress('live state is already there (rebuilt by another process); nothing to do');
      return { outcome: 'not-needed', partitions: 0, offsets: {}, scopes: 0, removedScopes: 0, keptScopes: [], fingerprints: 0, timingsMs };
    }

    await timed('graceWait', async () => {
      const until = Date.now() + deps.graceMs;
      progress(`waiting ${(deps.graceMs / 1000).toFixed(1)} s for ClickHouse inserts already in flight`, { graceMs: deps.graceMs });
      let reported = Date.now();
      for (let left = until - Date.now(); left > 0; left = until - Date.now()) {
        await sleep(Math.min(left, 1_000));
        checkLock();
        const remaining = until - Date.now();
        if (remaining > 0 && Date.now() - reported >= 5_000) {
          reported = Date.now();
          progress(`  ${Math.ceil(remaining / 1000)} s left`);
        }
      }
    });

    const offsets = await timed('maxOffsets', () => history.maxOffsets(topic));
    checkLock();
    progress(`ClickHouse: ${offsets.size} partition(s) of ${topic} hold rows`, { offsets: Object.fromEntries(offsets) });

    const totals = await timed('totals', () => history.totalsByScope(topic, offsets));
    checkLock();
    progress(`ClickHouse: totals of ${totals.size} scope(s) computed`);

    const computable = new Set(HISTORY_SCOPE_KINDS);
    const existing = await timed('scan', () => live.scanScopes());
    const remove = existing.filter((s) => computable.has(scopeKind(s)) && !totals.has(s));
    const kept = new Map<string, number>();
    for (const s of existing) if (!computable.has(scopeKind(s))) kept.set(scopeKind(s), (kept.get(scopeKind(s)) ?? 0) + 1);
    const keptScopes = [...kept].map(([kind, scopes]) => ({ kind, scopes }));
    progress(`Redis: ${existing.length} scope key(s) before the rebuild, ${remove.length} to delete`);
    for (const k of keptScopes) progress(`  kept ${k.scopes} ${k.kind} scope(s) as they are: ClickHouse cannot compute ${k.kind} totals yet`);

    let fingerprints = 0;
    const dedup = deps.dedup;
    if (dedup) {
      fingerprints = await timed('fingerprints', () =>
        history.forEachRecentEventKey(topic, offsets, dedup.windowSeconds, FINGERPRINT_CHUNK, async (keys) => {
          checkLock();
          await dedup.restore(keys);
          fingerprints += keys.length;
          if (fingerprints % (FINGERPRINT_CHUNK * 20) === 0) progress(`  ${fingerprints} resend fingerprints restored…`);
        }),
      );
      progress(`Redis: ${fingerprints} resend fingerprint(s) of the last ${dedup.windowSeconds} s restored`);
    }

    clearInterval(refresher);
    await refreshing;
    checkLock();
    const ok = await timed('write', () =>
      live.writeRebuiltState({ token, topic, totals: totals as Map<string, Partial<Record<TotalField, string>>>, remove, offsets }),
    );
    if (!ok) throw new RebuildLockLostError();
    written = true;
    progress(`Redis: ${totals.size} scope(s) and ${offsets.size} applied offset(s) written atomically; live state marked ready, lock released`);
    await live.publishChanged([...totals.keys(), ...remove]).catch(() => undefined);

    return {
      outcome: 'rebuilt',
      partitions: offsets.size,
      offsets: Object.fromEntries([...offsets].map(([p, o]) => [String(p), o])),
      scopes: totals.size,
      removedScopes: remove.length,
      keptScopes,
      fingerprints,
      timingsMs,
    };
  } finally {
    clearInterval(refresher);
    if (!written) await live.releaseRebuildLock(token).catch(() => undefined);
  }
}
