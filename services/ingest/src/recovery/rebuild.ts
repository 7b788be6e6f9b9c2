import { randomUUID } from 'node:crypto';
import { campaignScope, type Campaign } from '@livetally/campaigns';
import { scopeKind, type ClaimInput, type LiveStateStore, type TotalField } from '@livetally/live-state';
import { CombinationSums, HISTORY_SCOPE_KINDS, type EventHistory, type ScopeTotalsText } from '@livetally/history';
import {
  addCounts,
  emptyCounts,
  restoreCampaign,
  restoreDimensionMeasures,
  sumCombinations,
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
 *    scope's totals over exactly the rows at or below those offsets (with `measures`,
 *    summed from one read of every combination of the scope columns, which step 6
 *    also takes active hosts and leaderboards from);
 * 5. restore the platform-resend fingerprints of rows stored within the dedup
 *    window before the newest stored row (so resends arriving later still count once);
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
  dedup?: {
    restore(inputs: readonly ClaimInput[]): Promise<void>;
    windowSeconds: number;
    /** Fingerprints of the rows stored within this long before the newest stored row (default: the whole window). */
    restoreWindowMs?: number;
  };
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

/** One rebuild's context: its deps, its lock token and check, its timings and progress. */
interface RebuildRun {
  deps: RebuildDeps;
  token: string;
  progress: (message: string, data?: Record<string, unknown>) => void;
  /** Throws when the run must stop before the write (lock lost, interrupted). */
  checkLock(): void;
  timed<T>(name: string, f: () => Promise<T>): Promise<T>;
  timingsMs: Record<string, number>;
}

export async function rebuildLiveState(deps: RebuildDeps): Promise<RebuildResult> {
  const token = randomUUID();
  if (!(await deps.live.acquireRebuildLock(token, deps.lockTtlMs)))
    throw new RebuildBusyError(await deps.live.rebuildLockTtl());
  const lock = keepRebuildLock(deps, token);
  const run: RebuildRun = {
    deps,
    token,
    progress: deps.progress ?? (() => undefined),
    checkLock: lock.check,
    ...timer(),
  };
  run.progress('rebuild lock taken: counter writes and ClickHouse inserts are paused', { ttlMs: deps.lockTtlMs });
  let written = false;
  try {
    // Checked under the lock: a concurrent rebuild may have finished just before.
    if (deps.onlyIfMissing && (await deps.live.hasMarker())) {
      run.progress('live state is already there (rebuilt by another process); nothing to do');
      return notNeeded(run.timingsMs);
    }
    await waitForInFlightInserts(run);
    await restoreCatalogue(run);
    const { offsets, totals, dimensions: combinations } = await readHistoryCut(run);
    const scopes = await surveyScopes(run);
    const fingerprints = await restoreFingerprints(run, offsets);
    const measureRun: MeasureRun = {
      topic: deps.topic,
      upTo: offsets,
      now: 0,
      check: run.checkLock,
      progress: run.progress,
      timed: run.timed,
    };
    const dimensions = await restoreDimensions(run, measureRun, combinations);
    const final = await writeFinalState(
      run,
      measureRun,
      { offsets, totals, existing: scopes.existing },
      dimensions.counts,
    );
    written = true;
    await lock.stop();
    run.progress(
      `Redis: ${final.all.size} scope(s) and ${offsets.size} applied offset(s) written atomically (${final.remove.length} stale scope(s) deleted); live state marked ready, lock released`,
    );
    await deps.live.publishChanged([...final.all.keys(), ...final.remove]).catch(() => undefined);
    return {
      outcome: 'rebuilt',
      partitions: offsets.size,
      offsets: Object.fromEntries([...offsets].map(([p, o]) => [String(p), o])),
      scopes: final.all.size,
      removedScopes: final.remove.length,
      keptScopes: scopes.kept,
      fingerprints,
      campaigns: final.campaigns,
      measures:
        final.counts && deps.measures
          ? { ...final.counts, clearedKeys: dimensions.clearedKeys, viewerKinds: [...deps.measures.viewerKinds] }
          : null,
      timingsMs: run.timingsMs,
    };
  } finally {
    void lock.stop();
    if (!written) await deps.live.releaseRebuildLock(token).catch(() => undefined);
  }
}

/** Refreshes the lock every third of its TTL; check() throws once it was lost or the run was interrupted. */
function keepRebuildLock(deps: RebuildDeps, token: string): { check(): void; stop(): Promise<void> } {
  let lost = false;
  let refreshing = Promise.resolve();
  const refresher = setInterval(
    () => {
      refreshing = deps.live.refreshRebuildLock(token, deps.lockTtlMs).then(
        (held) => {
          if (!held) lost = true;
        },
        () => undefined, // a failed refresh is retried on the next tick; the TTL leaves room
      );
    },
    Math.max(250, Math.floor(deps.lockTtlMs / 3)),
  );
  return {
    check() {
      if (deps.signal?.aborted) throw new Error('rebuild interrupted before the write; nothing was written');
      if (lost) throw new RebuildLockLostError();
    },
    async stop() {
      clearInterval(refresher);
      await refreshing;
    },
  };
}

function timer(): Pick<RebuildRun, 'timed' | 'timingsMs'> {
  const timingsMs: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      timingsMs[name] = (timingsMs[name] ?? 0) + Math.round(performance.now() - t);
    }
  };
  return { timed, timingsMs };
}

function notNeeded(timingsMs: Record<string, number>): RebuildResult {
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

/** Step 2: every ClickHouse insert that passed its pre-insert check before the lock lands within the grace period. */
async function waitForInFlightInserts({ deps, progress, checkLock, timed }: RebuildRun): Promise<void> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
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
}

/** Step 3: the campaign catalogue from ClickHouse, under a version no worker has cached. */
async function restoreCatalogue({ deps, progress, checkLock, timed }: RebuildRun): Promise<void> {
  const measures = deps.measures;
  if (!measures) return;
  const restored = await timed('catalogue', async () => {
    const n = await measures.catalogue.restore();
    // A version no worker has cached: each re-reads the catalogue before its next apply.
    await deps.live.renewCatalogueVersion(measures.catalogue.versionKey, Date.now());
    return n;
  });
  checkLock();
  progress(`Redis: campaign catalogue restored from ClickHouse (lt_campaigns): ${restored} campaign(s)`);
}

/**
 * Step 4: the cut (highest stored offset per partition) and every dimension scope's
 * totals at it. With `measures`, from the sums of every combination of scope columns,
 * kept for the active hosts and leaderboards of step 6 (one pass over the rows for all three).
 */
async function readHistoryCut({ deps, progress, checkLock, timed }: RebuildRun) {
  const { history, topic, measures } = deps;
  const offsets = await timed('maxOffsets', () => history.maxOffsets(topic));
  checkLock();
  progress(`ClickHouse: ${offsets.size} partition(s) of ${topic} hold rows`, {
    offsets: Object.fromEntries(offsets),
  });
  if (!measures) {
    const totals = await timed('totals', () => history.totalsByScope(topic, offsets));
    checkLock();
    progress(`ClickHouse: totals of ${totals.size} scope(s) computed`);
    return { offsets, totals, dimensions: null };
  }
  const sel = { scopes: 'dimensions' as const, topic, upTo: offsets };
  const { sums, combinations } = await timed('totals', () =>
    sumCombinations(measures.history, sel, CombinationSums.dimensionScopes, checkLock),
  );
  const totals = sums.scopeTotals();
  checkLock();
  progress(
    `ClickHouse: totals of ${totals.size} scope(s) computed from ${combinations} combination(s) of stream, host, city, district, category and platform`,
  );
  return { offsets, totals, dimensions: sums };
}

/** Scope kinds the rebuild computes (campaign scopes only with `measures`). */
function computableKinds(deps: RebuildDeps): ReadonlySet<string> {
  return new Set(deps.measures ? [...HISTORY_SCOPE_KINDS, 'campaign'] : HISTORY_SCOPE_KINDS);
}

/** The scopes Redis holds now, and per kind those history cannot compute (kept as they are). */
async function surveyScopes({ deps, progress, timed }: RebuildRun) {
  const computable = computableKinds(deps);
  const existing = await timed('scan', () => deps.live.scanScopes());
  const byKind = new Map<string, number>();
  for (const s of existing)
    if (!computable.has(scopeKind(s))) byKind.set(scopeKind(s), (byKind.get(scopeKind(s)) ?? 0) + 1);
  const kept = [...byKind].map(([kind, scopes]) => ({ kind, scopes }));
  progress(`Redis: ${existing.length} scope key(s) before the rebuild`);
  for (const k of kept)
    progress(`  kept ${k.scopes} ${k.kind} scope(s) as they are: ClickHouse cannot compute ${k.kind} totals yet`);
  return { existing, kept };
}

/** Step 5: resend fingerprints of the rows stored within the dedup window. */
async function restoreFingerprints(
  { deps, progress, checkLock, timed }: RebuildRun,
  offsets: ReadonlyMap<number, string>,
): Promise<number> {
  const dedup = deps.dedup;
  if (!dedup) return 0;
  const windowMs = dedup.restoreWindowMs ?? dedup.windowSeconds * 1000;
  let fingerprints = 0;
  fingerprints = await timed('fingerprints', () =>
    deps.history.forEachRecentEventKey(deps.topic, offsets, windowMs, FINGERPRINT_CHUNK, async (keys) => {
      checkLock();
      await dedup.restore(keys);
      fingerprints += keys.length;
      if (fingerprints % (FINGERPRINT_CHUNK * 20) === 0) progress(`  ${fingerprints} resend fingerprints restored…`);
    }),
  );
  progress(
    `Redis: ${fingerprints} resend fingerprint(s) restored, of the rows stored in the ${windowMs / 1000} s before the newest stored row`,
  );
  return fingerprints;
}

/** Step 6 for dimension scopes: clear every measure key of the prefix, then restore them from history. */
async function restoreDimensions(
  { deps, progress, checkLock, timed }: RebuildRun,
  measureRun: MeasureRun,
  combinations: CombinationSums | null,
): Promise<{ counts: MeasureCounts | null; clearedKeys: number }> {
  const measures = deps.measures;
  if (!measures || !combinations) return { counts: null, clearedKeys: 0 };
  measureRun.now = (measures.now ?? Date.now)();
  const clearedKeys = await timed('clear', () => measures.writer.clear());
  checkLock();
  progress(
    `Redis: ${clearedKeys} minute-bucket, HyperLogLog and leaderboard key(s) cleared; restoring them from ClickHouse`,
  );
  return { counts: await restoreDimensionMeasures(measures, measureRun, combinations), clearedKeys };
}

/**
 * Step 6 for campaign scopes and step 7: campaign scopes computed for the catalogue
 * version read here, then the one atomic write; redone when a campaign changed in between.
 */
async function writeFinalState(
  { deps, token, progress, checkLock, timed }: RebuildRun,
  measureRun: MeasureRun,
  cut: { offsets: Map<number, string>; totals: Map<string, ScopeTotalsText>; existing: readonly string[] },
  dimensionCounts: MeasureCounts | null,
) {
  const { measures, topic } = deps;
  const computable = computableKinds(deps);
  let counts = dimensionCounts;
  let campaigns: number | null = null;
  let all: Map<string, ScopeTotalsText> = cut.totals;
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
      all = new Map(cut.totals);
      let campaignCounts = emptyCounts();
      for (const c of snap.campaigns) {
        const r = await restoreCampaign(measures, measureRun, c);
        if (r.totals) all.set(campaignScope(c.id), r.totals);
        campaignCounts = addCounts(campaignCounts, r.counts);
      }
      counts = addCounts(counts ?? emptyCounts(), campaignCounts);
    }
    remove = cut.existing.filter((s) => computable.has(scopeKind(s)) && !all.has(s));
    checkLock();
    const outcome = await timed('write', () =>
      deps.live.writeRebuiltState({
        token,
        topic,
        totals: all as Map<string, Partial<Record<TotalField, string>>>,
        remove,
        offsets: cut.offsets,
        catalogue,
      }),
    );
    if (outcome === 'lock-lost') throw new RebuildLockLostError();
    if (outcome === 'written') return { all, remove, campaigns, counts };
    if (attempt >= CATALOGUE_ATTEMPTS)
      throw new Error(
        `the campaign catalogue kept changing during the rebuild (${attempt} attempts); nothing was written, run it again`,
      );
  }
}
