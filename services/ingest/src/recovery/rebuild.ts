import { randomUUID } from 'node:crypto';
import type { Campaign } from '@livetally/campaigns';
import { scopeKind, type ClaimInput, type LiveStateStore, type TotalField } from '@livetally/live-state';
import { HISTORY_SCOPE_KINDS, type EventHistory, type ScopeTotalsText } from '@livetally/history';
import {
  addCounts,
  emptyCounts,
  restoreCampaign,
  restoreDimensionMeasures,
  type MeasureCounts,
  type MeasureDeps,
  type MeasureRun,
} from './live-measures';

/**
 * Restores the live state in Redis from ClickHouse while ingest workers keep running:
 *
 * 1. take the rebuild lock (TTL, refreshed while running): every counter and plan
 *    write refuses from now on, and every worker's pre-insert check fails;
 * 2. wait a grace period longer than the longest ClickHouse insert that may have
 *    passed its pre-insert check before the lock, so every such row has landed;
 * 3. (with `measures`) restore the campaign catalogue from ClickHouse under a fresh
 *    catalogue version, so every worker re-reads it before its next apply;
 * 4. read the highest stored offset per partition (the cut), then every dimension
 *    scope's totals over exactly the rows at or below those offsets (server-side);
 * 5. restore the platform-resend fingerprints of rows stored within the dedup
 *    window (so resends arriving later still count once);
 * 6. (with `measures`) clear every minute bucket, HyperLogLog and leaderboard of the
 *    prefix, then write them from the rows at or below the cut: minute buckets of the
 *    last 3 h, active-host and unique-viewer HyperLogLogs, the `all` leaderboards, and
 *    for every campaign of the catalogue its scope's measures and leaderboards, plus
 *    its totals for step 7;
 * 7. in one atomic step, and only while still holding the lock (and while the
 *    catalogue is still the version step 6 matched against; else step 6's campaign
 *    part is redone): replace all scope totals (campaign scopes included), delete
 *    scopes history no longer backs, replace the applied offsets (stale plans go with
 *    them), set the marker and release the lock.
 *
 * Workers then skip everything at or below the restored offsets and apply the rest;
 * every measure was in place before the marker said ready.
 */

/** The campaign catalogue as the rebuild restores and reads it. */
export interface RebuildCatalogue {
  /** Restores Redis's working copy from ClickHouse (lt_campaigns); returns how many campaigns. */
  restore(): Promise<number>;
  /** The catalogue version and its campaigns, read together. */
  snapshot(): Promise<{ version: number; campaigns: Campaign[] }>;
  /** Key of the catalogue version (checked by the final write). */
  versionKey: string;
}

export interface RebuildDeps {
  live: Pick<
    LiveStateStore,
    | 'acquireRebuildLock'
    | 'refreshRebuildLock'
    | 'releaseRebuildLock'
    | 'rebuildLockTtl'
    | 'scanScopes'
    | 'writeRebuiltState'
    | 'publishChanged'
    | 'hasMarker'
    | 'renewCatalogueVersion'
  >;
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
  /**
   * Everything beyond totals, offsets and fingerprints: the campaign catalogue,
   * campaign scopes, minute buckets, HyperLogLogs and leaderboards. Left out, those
   * stay as they are (campaign scopes are kept, not computed).
   */
  measures?: MeasureDeps & { catalogue: RebuildCatalogue; now?: () => number };
}

/** How often the final write is retried when a campaign changed during the rebuild. */
const CATALOGUE_ATTEMPTS = 3;

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
  /** Campaigns in the restored catalogue (null: catalogue and measures not restored). */
  campaigns: number | null;
  /** Live measures written besides totals (null: not restored). */
  measures: (MeasureCounts & { clearedKeys: number; viewerKinds: string[] }) | null;
  timingsMs: Record<string, number>;
}

export class RebuildBusyError extends Error {
  constructor(ttlMs: number) {
    super(
      `another rebuild holds the lock (expires in ${Math.max(0, Math.round(ttlMs / 1000))} s unless refreshed); not starting a second one`,
    );
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
      timingsMs[name] = (timingsMs[name] ?? 0) + Math.round(performance.now() - t);
    }
  };

  const token = randomUUID();
  if (!(await live.acquireRebuildLock(token, deps.lockTtlMs))) throw new RebuildBusyError(await live.rebuildLockTtl());
  progress('rebuild lock taken: counter writes and ClickHouse inserts are paused', { ttlMs: deps.lockTtlMs });

  let lost = false;
  let refreshing = Promise.resolve();
  const refresher = setInterval(
    () => {
      refreshing = live.refreshRebuildLock(token, deps.lockTtlMs).then(
        (held) => {
          if (!held) lost = true;
        },
        () => undefined, // a failed refresh is retried on the next tick; the TTL leaves room
      );
    },
    Math.max(250, Math.floor(deps.lockTtlMs / 3)),
  );
  const checkLock = () => {
    if (deps.signal?.aborted) throw new Error('rebuild interrupted before the write; nothing was written');
    if (lost) throw new RebuildLockLostError();
  };

  let written = false;
  try {
    // Checked under the lock: a concurrent rebuild may have finished just before.
    if (deps.onlyIfMissing && (await live.hasMarker())) {
      progress('live state is already there (rebuilt by another process); nothing to do');
      return {
        outcome: 'not-needed',
        partitions: 0,
        offsets: {},
        scopes: 0,
        removedScopes: 0,
        keptScopes: [],
        fingerprints: 0,
        campaigns: null,
        measures: null,
        timingsMs,
      };
    }

    await timed('graceWait', async () => {
      const until = Date.now() + deps.graceMs;
      progress(`waiting ${(deps.graceMs / 1000).toFixed(1)} s for ClickHouse inserts already in flight`, {
        graceMs: deps.graceMs,
      });
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

    const measures = deps.measures;
    if (measures) {
      const restored = await timed('catalogue', async () => {
        const n = await measures.catalogue.restore();
        // A version no worker has cached: each re-reads the catalogue before its next apply.
        await live.renewCatalogueVersion(measures.catalogue.versionKey, Date.now());
        return n;
      });
      checkLock();
      progress(`Redis: campaign catalogue restored from ClickHouse (lt_campaigns): ${restored} campaign(s)`);
    }

    const offsets = await timed('maxOffsets', () => history.maxOffsets(topic));
    checkLock();
    progress(`ClickHouse: ${offsets.size} partition(s) of ${topic} hold rows`, {
      offsets: Object.fromEntries(offsets),
    });

    const totals = await timed('totals', () => history.totalsByScope(topic, offsets));
    checkLock();
    progress(`ClickHouse: totals of ${totals.size} scope(s) computed`);

    const computable = new Set(measures ? [...HISTORY_SCOPE_KINDS, 'campaign'] : HISTORY_SCOPE_KINDS);
    const existing = await timed('scan', () => live.scanScopes());
    const kept = new Map<string, number>();
    for (const s of existing)
      if (!computable.has(scopeKind(s))) kept.set(scopeKind(s), (kept.get(scopeKind(s)) ?? 0) + 1);
    const keptScopes = [...kept].map(([kind, scopes]) => ({ kind, scopes }));
    progress(`Redis: ${existing.length} scope key(s) before the rebuild`);
    for (const k of keptScopes)
      progress(`  kept ${k.scopes} ${k.kind} scope(s) as they are: ClickHouse cannot compute ${k.kind} totals yet`);

    let fingerprints = 0;
    const dedup = deps.dedup;
    if (dedup) {
      fingerprints = await timed('fingerprints', () =>
        history.forEachRecentEventKey(topic, offsets, dedup.windowSeconds, FINGERPRINT_CHUNK, async (keys) => {
          checkLock();
          await dedup.restore(keys);
          fingerprints += keys.length;
          if (fingerprints % (FINGERPRINT_CHUNK * 20) === 0)
            progress(`  ${fingerprints} resend fingerprints restored…`);
        }),
      );
      progress(`Redis: ${fingerprints} resend fingerprint(s) of the last ${dedup.windowSeconds} s restored`);
    }

    let counts: MeasureCounts | null = null;
    let clearedKeys = 0;
    const run: MeasureRun = { topic, upTo: offsets, now: 0, check: checkLock, progress, timed };
    if (measures) {
      run.now = (measures.now ?? Date.now)();
      clearedKeys = await timed('clear', () => measures.writer.clear());
      checkLock();
      progress(
        `Redis: ${clearedKeys} minute-bucket, HyperLogLog and leaderboard key(s) cleared; restoring them from ClickHouse`,
      );
      counts = await restoreDimensionMeasures(measures, run);
    }

    // Campaign scopes (computed for the catalogue version read here), then the final
    // atomic write; redone when a campaign changed in between.
    let campaigns: number | null = null;
    let all: Map<string, ScopeTotalsText> = totals;
    let remove: string[] = [];
    for (let attempt = 1; ; attempt++) {
      let catalogue: { versionKey: string; version: string } | undefined;
      if (measures) {
        if (attempt > 1) {
          const n = await timed('clear', () => measures.writer.clear('campaign:'));
          progress(`a campaign changed during the rebuild; redoing the campaign scopes (${n} key(s) cleared)`);
        }
        const snap = await timed('catalogue', () => measures.catalogue.snapshot());
        catalogue = { versionKey: measures.catalogue.versionKey, version: String(snap.version) };
        campaigns = snap.campaigns.length;
        progress(`campaign scopes: ${snap.campaigns.length} campaign(s) in catalogue version ${snap.version}`);
        all = new Map(totals);
        let campaignCounts = emptyCounts();
        for (const c of snap.campaigns) {
          const r = await restoreCampaign(measures, run, c);
          if (r.totals) all.set(`campaign:${c.id}`, r.totals);
          campaignCounts = addCounts(campaignCounts, r.counts);
        }
        counts = addCounts(counts ?? emptyCounts(), campaignCounts);
      }
      remove = existing.filter((s) => computable.has(scopeKind(s)) && !all.has(s));
      checkLock();
      const outcome = await timed('write', () =>
        live.writeRebuiltState({
          token,
          topic,
          totals: all as Map<string, Partial<Record<TotalField, string>>>,
          remove,
          offsets,
          catalogue,
        }),
      );
      if (outcome === 'lock-lost') throw new RebuildLockLostError();
      if (outcome === 'written') break;
      if (attempt >= CATALOGUE_ATTEMPTS)
        throw new Error(
          `the campaign catalogue kept changing during the rebuild (${attempt} attempts); nothing was written, run it again`,
        );
    }
    written = true;
    clearInterval(refresher);
    await refreshing;
    progress(
      `Redis: ${all.size} scope(s) and ${offsets.size} applied offset(s) written atomically (${remove.length} stale scope(s) deleted); live state marked ready, lock released`,
    );
    await live.publishChanged([...all.keys(), ...remove]).catch(() => undefined);

    return {
      outcome: 'rebuilt',
      partitions: offsets.size,
      offsets: Object.fromEntries([...offsets].map(([p, o]) => [String(p), o])),
      scopes: all.size,
      removedScopes: remove.length,
      keptScopes,
      fingerprints,
      campaigns,
      measures: counts && measures ? { ...counts, clearedKeys, viewerKinds: [...measures.viewerKinds] } : null,
      timingsMs,
    };
  } finally {
    clearInterval(refresher);
    if (!written) await live.releaseRebuildLock(token).catch(() => undefined);
  }
}
