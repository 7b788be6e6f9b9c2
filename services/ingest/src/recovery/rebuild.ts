import { randomUUID } from 'node:crypto';
import { campaignScope, type Campaign } from '@livetally/campaigns';
import {
  parsePartitionTag,
  partitionTag,
  scopeKind,
  type ClaimInput,
  type LiveStateStore,
  type TotalField,
} from '@livetally/live-state';
import {
  CombinationSums,
  HISTORY_SCOPE_KINDS,
  type EventHistory,
  type ScopeTotalsText,
  type StoredEventKey,
} from '@livetally/history';
import {
  addCounts,
  emptyCounts,
  emptyPart,
  readCampaign,
  readDimensions,
  restoreCampaign,
  restoreDimensionMeasures,
  type MeasureCounts,
  type MeasureDeps,
  type MeasureRun,
  type PartitionParts,
} from './live-measures';

/**
 * Restores the live state in Redis from ClickHouse while ingest workers keep running,
 * partition by partition (ADR 0003: each partition's state is in its own slot):
 *
 * 1. take the rebuild lock of every partition to rebuild (the topic's registered partitions
 *    and those ClickHouse holds rows of; with `onlyIfMissing` only those whose marker is
 *    missing), in partition order, refreshed while running: every counter and plan write of
 *    those partitions refuses from now on, and every worker's pre-insert check fails;
 * 2. wait a grace period longer than the longest ClickHouse insert that may have
 *    passed its pre-insert check before the lock, so every such row has landed;
 * 3. (with `measures`) restore the campaign catalogue from ClickHouse under a fresh
 *    catalogue version, so every worker re-reads it before its next apply;
 * 4. register the partitions (so catalogue changes from now on raise their copies of the
 *    version) and read the highest stored offset per partition (the cut);
 * 5. read ClickHouse once for every partition at once, each partition's rows at or below
 *    its own cut (one `upTo` with every cut), grouped by `kafka_partition`: the totals (with
 *    `measures`, summed from one read of the combinations of the scope columns, which
 *    active hosts and leaderboards also come from); the resend fingerprints of the rows
 *    stored within the dedup window before each partition's newest stored row; (with
 *    `measures`) the unique viewers' registers ClickHouse computes, the catalogue and every
 *    campaign's combinations and registers. A pass scans the topic whatever the cut
 *    (lt_events is ordered by type and time), so the passes no longer grow with partitions;
 * 6. then for each partition in turn, from its part of those reads: its fingerprints; (with
 *    `measures`) its shares of the minute buckets (read for it alone: that read is bounded
 *    by event time), HyperLogLogs (unique viewers written whole) and leaderboards (cleared
 *    first), and of every campaign of the catalogue;
 *    and in one atomic step on its slot, only while still holding its lock (and while its
 *    copy of the catalogue version is not past the one its campaign shares were computed
 *    for; else those are read again for it alone and redone): its shares of every scope's
 *    totals, the deletion of shares history no longer backs, its applied offset, its marker
 *    and its lock's release. Nothing of a partition is written before the previous one's
 *    atomic write: a rebuild failing half-way has rewritten no share of a partition whose
 *    totals and offset it did not write.
 *
 * Workers then skip everything at or below the restored offsets and apply the rest; every
 * measure of a partition was in place before its marker said ready.
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
    | 'acquireRebuildLocks'
    | 'refreshRebuildLocks'
    | 'releaseRebuildLocks'
    | 'rebuildLockTtl'
    | 'scanShares'
    | 'writeRebuiltState'
    | 'publishChanged'
    | 'partitionStatuses'
    | 'registerPartitions'
    | 'renewCatalogueVersion'
  >;
  history: Pick<EventHistory, 'maxOffsets' | 'totalsByPartition' | 'forEachRecentEventKey'>;
  /** Restores resend fingerprints; left out when there is no deduplication to restore. */
  dedup?: {
    restore(inputs: readonly ClaimInput[]): Promise<void>;
    windowSeconds: number;
    /** Fingerprints of the rows stored within this long before a partition's newest stored row (default: the whole window). */
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
  measures?: Omit<MeasureDeps, 'writer'> & {
    catalogue: RebuildCatalogue;
    now?: () => number;
    /** The writer of one partition's shares. */
    writer: { partition(topic: string, partition: number): MeasureDeps['writer'] };
  };
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
  /** The partitions being rebuilt (their locks held until each is written). */
  partitions: number[];
  progress: (message: string, data?: Record<string, unknown>) => void;
  /** Throws when the run must stop before the write (lock lost, interrupted). */
  checkLock(): void;
  timed<T>(name: string, f: () => Promise<T>): Promise<T>;
  timingsMs: Record<string, number>;
}

/** The partitions a rebuild covers: registered ones of the topic and those ClickHouse holds rows of; with onlyIfMissing those without a marker. */
async function partitionsToRebuild(deps: RebuildDeps): Promise<number[]> {
  const statuses = await deps.live.partitionStatuses();
  const registered = new Map<number, string>();
  for (const [tag, status] of statuses) {
    const parsed = parsePartitionTag(tag);
    if (parsed && parsed.topic === deps.topic) registered.set(parsed.partition, status);
  }
  const stored = await deps.history.maxOffsets(deps.topic);
  const all = [...new Set([...registered.keys(), ...stored.keys()])].sort((a, b) => a - b);
  return deps.onlyIfMissing ? all.filter((p) => registered.get(p) !== 'ready') : all;
}

export async function rebuildLiveState(deps: RebuildDeps): Promise<RebuildResult> {
  const token = randomUUID();
  const partitions = await partitionsToRebuild(deps);
  if (deps.onlyIfMissing && partitions.length === 0) return notNeeded({});
  if (!(await deps.live.acquireRebuildLocks(deps.topic, partitions, token, deps.lockTtlMs)))
    throw new RebuildBusyError(await deps.live.rebuildLockTtl(deps.topic));
  const lock = keepRebuildLock(deps, token, partitions);
  const run: RebuildRun = {
    deps,
    token,
    partitions,
    progress: deps.progress ?? (() => undefined),
    checkLock: lock.check,
    ...timer(),
  };
  run.progress(
    `rebuild lock taken for ${partitions.length} partition(s): their counter writes and ClickHouse inserts are paused`,
    { ttlMs: deps.lockTtlMs, partitions },
  );
  try {
    // Checked under the locks: a concurrent rebuild may have finished just before.
    if (deps.onlyIfMissing) {
      const statuses = await deps.live.partitionStatuses();
      const done = partitions.filter((p) => statuses.get(partitionTag(deps.topic, p)) === 'ready');
      if (done.length === partitions.length) {
        run.progress('live state is already there (rebuilt by another process); nothing to do');
        return notNeeded(run.timingsMs);
      }
    }
    await waitForInFlightInserts(run);
    await restoreCatalogue(run);
    await deps.live.registerPartitions(deps.topic, partitions);
    const cut = await readCut(run);
    const existing = await timed(run, 'scan', () => deps.live.scanShares());
    const kept = keptKinds(run, existing);
    const totals = new Map<string, true>();
    const removed = new Set<string>();
    let fingerprints = 0;
    let counts: MeasureCounts | null = null;
    let campaigns: number | null = null;
    let clearedKeys = 0;
    const reads = await readEveryPartition(run, cut);
    for (const partition of partitions) {
      const written = await rebuildPartition(run, partition, cut.get(partition) ?? null, existing, reads);
      lock.written(partition);
      for (const scope of written.scopes) totals.set(scope, true);
      for (const scope of written.remove) removed.add(scope);
      fingerprints += written.fingerprints;
      if (written.counts) counts = addCounts(counts ?? emptyCounts(), written.counts);
      campaigns = written.campaigns ?? campaigns;
      clearedKeys += written.clearedKeys;
      await deps.live
        .publishChanged(deps.topic, partition, [...written.scopes, ...written.remove])
        .catch(() => undefined);
    }
    await lock.stop();
    run.progress(
      `Redis: ${partitions.length} partition(s) written, each atomically: ${totals.size} scope(s), ${cut.size} applied offset(s); live state marked ready, locks released`,
    );
    return {
      outcome: 'rebuilt',
      partitions: cut.size,
      offsets: Object.fromEntries([...cut].map(([p, o]) => [String(p), o])),
      scopes: totals.size,
      removedScopes: [...removed].filter((s) => !totals.has(s)).length,
      keptScopes: kept,
      fingerprints,
      campaigns,
      measures:
        counts && deps.measures ? { ...counts, clearedKeys, viewerKinds: [...deps.measures.viewerKinds] } : null,
      timingsMs: run.timingsMs,
    };
  } finally {
    await lock.stop();
    // Partitions not written keep their state; their locks go (a written partition's went with its write).
    const left = lock.unwritten();
    if (left.length > 0) await deps.live.releaseRebuildLocks(deps.topic, left, token).catch(() => undefined);
  }
}

const timed = <T>(run: RebuildRun, name: string, f: () => Promise<T>) => run.timed(name, f);

/** Refreshes the locks of partitions not written yet every third of the TTL; check() throws once one was lost or the run was interrupted. */
function keepRebuildLock(
  deps: RebuildDeps,
  token: string,
  partitions: readonly number[],
): { check(): void; stop(): Promise<void>; written(partition: number): void; unwritten(): number[] } {
  let lost = false;
  const held = new Set(partitions);
  let refreshing = Promise.resolve();
  const refresher = setInterval(
    () => {
      refreshing = deps.live.refreshRebuildLocks(deps.topic, [...held], token, deps.lockTtlMs).then(
        (all) => {
          if (!all) lost = true;
        },
        () => undefined, // a failed refresh is retried on the next tick; the TTL leaves room
      );
    },
    Math.max(250, Math.floor(deps.lockTtlMs / 3)),
  );
  return {
    check() {
      if (deps.signal?.aborted) throw new Error('rebuild interrupted before the write; nothing more was written');
      if (lost) throw new RebuildLockLostError();
    },
    async stop() {
      clearInterval(refresher);
      await refreshing;
    },
    written(partition) {
      held.delete(partition);
    },
    unwritten: () => [...held],
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

/** Step 4: the cut, the highest stored offset of each partition being rebuilt. */
async function readCut({ deps, partitions, progress, checkLock, timed }: RebuildRun): Promise<Map<number, string>> {
  const { history, topic } = deps;
  const stored = await timed('maxOffsets', () => history.maxOffsets(topic));
  checkLock();
  const cut = new Map([...stored].filter(([p]) => partitions.includes(p)));
  const unlocked = [...stored.keys()].filter((p) => !partitions.includes(p));
  if (unlocked.length > 0 && !deps.onlyIfMissing)
    throw new Error(`ClickHouse now holds partition(s) ${unlocked.join(', ')} the rebuild did not lock; run it again`);
  progress(`ClickHouse: ${cut.size} partition(s) of ${topic} hold rows`, { offsets: Object.fromEntries(cut) });
  return cut;
}

/** Scope kinds the rebuild computes (campaign scopes only with `measures`). */
function computableKinds(deps: RebuildDeps): ReadonlySet<string> {
  return new Set(deps.measures ? [...HISTORY_SCOPE_KINDS, 'campaign'] : HISTORY_SCOPE_KINDS);
}

/** Per kind, the scopes history cannot compute (their shares are kept as they are). */
function keptKinds({ deps, progress }: RebuildRun, existing: ReadonlyMap<string, ReadonlySet<string>>) {
  const computable = computableKinds(deps);
  const scopes = new Set<string>();
  for (const shares of existing.values()) for (const s of shares) scopes.add(s);
  const byKind = new Map<string, number>();
  for (const s of scopes)
    if (!computable.has(scopeKind(s))) byKind.set(scopeKind(s), (byKind.get(scopeKind(s)) ?? 0) + 1);
  const kept = [...byKind].map(([kind, n]) => ({ kind, scopes: n }));
  progress(`Redis: ${scopes.size} scope(s) with totals before the rebuild`);
  for (const k of kept)
    progress(`  kept ${k.scopes} ${k.kind} scope(s) as they are: ClickHouse cannot compute ${k.kind} totals yet`);
  return kept;
}

/** Everything the rebuild reads from ClickHouse, read once for every partition being rebuilt. */
interface EveryPartitionReads {
  /** Without `measures`: each partition's totals. */
  totals: Map<number, Map<string, ScopeTotalsText>>;
  /** With `measures`: each partition's part of the dimension scopes (totals, hosts, leaderboards, viewers). */
  dimensions: PartitionParts;
  /** Each partition's resend fingerprints. */
  fingerprints: Map<number, StoredEventKey[]>;
  /** With `measures`: the catalogue and each campaign's parts; stale once a write found the catalogue changed. */
  catalogue: CampaignReads | null;
}

interface CampaignReads {
  version: number;
  campaigns: Campaign[];
  /** Campaign id → its parts. */
  parts: Map<string, PartitionParts>;
  stale?: boolean;
}

const measureRunOf = (run: RebuildRun, upTo: ReadonlyMap<number, string>, now = 0): MeasureRun => ({
  topic: run.deps.topic,
  upTo,
  now,
  check: run.checkLock,
  progress: run.progress,
  timed: run.timed,
});

/** Step 5: every pass over ClickHouse once, at every partition's cut, split by partition. */
async function readEveryPartition(run: RebuildRun, cut: ReadonlyMap<number, string>): Promise<EveryPartitionReads> {
  const { deps, progress, checkLock, timed } = run;
  const { history, topic, measures } = deps;
  progress(`ClickHouse: one pass per read for ${cut.size} partition(s) at their cuts, split by partition`);
  let totals = new Map<number, Map<string, ScopeTotalsText>>();
  let dimensions: PartitionParts = new Map();
  if (!measures) totals = await timed('totals', () => history.totalsByPartition(topic, cut));
  else {
    dimensions = await readDimensions(measures, measureRunOf(run, cut));
    const combinations = [...dimensions.values()].reduce((n, p) => n + p.combinations, 0);
    progress(
      `  ${combinations} combination(s) of stream, host, city, district, category and platform in ${dimensions.size} partition(s)`,
    );
  }
  checkLock();
  const fingerprints = await readFingerprints(run, cut);
  const catalogue = measures ? await readCampaigns(run, measureRunOf(run, cut)) : null;
  return { totals, dimensions, fingerprints, catalogue };
}

/** The catalogue, and every campaign's combinations and registers at the cut of `measureRun` (every partition's, or one's when redone). */
async function readCampaigns(run: RebuildRun, measureRun: MeasureRun): Promise<CampaignReads> {
  const measures = run.deps.measures!;
  const snap = await run.timed('catalogue', () => measures.catalogue.snapshot());
  const parts = new Map<string, PartitionParts>();
  for (const c of snap.campaigns) parts.set(c.id, await readCampaign(measures, measureRun, c));
  return { ...snap, parts };
}

const fingerprintWindowMs = (dedup: NonNullable<RebuildDeps['dedup']>) =>
  dedup.restoreWindowMs ?? dedup.windowSeconds * 1000;

/** Step 5: resend fingerprints of the rows stored within the dedup window before each partition's newest stored row. */
async function readFingerprints(
  { deps, progress, checkLock, timed }: RebuildRun,
  cut: ReadonlyMap<number, string>,
): Promise<Map<number, StoredEventKey[]>> {
  const byPartition = new Map<number, StoredEventKey[]>();
  const dedup = deps.dedup;
  if (!dedup || cut.size === 0) return byPartition;
  const windowMs = fingerprintWindowMs(dedup);
  const n = await timed('fingerprints', () =>
    deps.history.forEachRecentEventKey(deps.topic, cut, windowMs, FINGERPRINT_CHUNK, async (keys) => {
      checkLock();
      for (const k of keys) {
        const held = byPartition.get(k.partition);
        if (held) held.push(k);
        else byPartition.set(k.partition, [k]);
      }
    }),
  );
  progress(`ClickHouse: ${n} resend fingerprint(s) read for ${byPartition.size} partition(s)`);
  return byPartition;
}

/** Step 6: one partition's resend fingerprints into Redis. */
async function restoreFingerprints(
  { deps, progress, checkLock, timed }: RebuildRun,
  partition: number,
  keys: readonly StoredEventKey[],
): Promise<number> {
  const dedup = deps.dedup;
  if (!dedup || keys.length === 0) return 0;
  await timed('fingerprints', async () => {
    for (let i = 0; i < keys.length; i += FINGERPRINT_CHUNK) {
      checkLock();
      await dedup.restore(keys.slice(i, i + FINGERPRINT_CHUNK).map((k) => ({ ...k, topic: deps.topic })));
    }
  });
  const windowMs = fingerprintWindowMs(dedup);
  progress(
    `Redis: ${keys.length} resend fingerprint(s) restored, of the rows stored in the ${windowMs / 1000} s before the newest stored row of partition(s) ${partition}`,
  );
  return keys.length;
}

/**
 * Step 6 for one partition, from its part of `reads` (none: no rows): its fingerprints,
 * its shares of every measure, then the one atomic write on its slot; the campaign shares
 * are read again for it alone and redone when a campaign changed in between. Its parts
 * are dropped once used.
 */
async function rebuildPartition(
  run: RebuildRun,
  partition: number,
  offset: string | null,
  existing: ReadonlyMap<string, ReadonlySet<string>>,
  reads: EveryPartitionReads,
) {
  const { deps, token, progress, checkLock, timed } = run;
  const { measures, topic } = deps;
  const upTo = new Map(offset === null ? [] : [[partition, offset] as const]);
  progress(`partition ${partition}: ${offset === null ? 'no rows in ClickHouse' : `rows through offset ${offset}`}`);
  const fingerprints = await restoreFingerprints(run, partition, reads.fingerprints.get(partition) ?? []);
  reads.fingerprints.delete(partition);
  const computable = computableKinds(deps);
  const mine = [...(existing.get(partitionTag(topic, partition)) ?? [])];
  const measureRun = measureRunOf(run, upTo);
  let totals = reads.totals.get(partition) ?? new Map<string, ScopeTotalsText>();
  let counts: MeasureCounts | null = null;
  let clearedKeys = 0;
  let writer: MeasureDeps['writer'] | undefined;
  if (measures) {
    writer = measures.writer.partition(topic, partition);
    measureRun.now = (measures.now ?? Date.now)();
    const part = reads.dimensions.get(partition) ?? emptyPart(CombinationSums.dimensionScopes);
    reads.dimensions.delete(partition);
    totals = part.sums.scopeTotals();
    progress(`  totals of ${totals.size} scope(s) from ${part.combinations} combination(s)`);
    clearedKeys = await timed('clear', () => writer!.clear());
    checkLock();
    counts = await restoreDimensionMeasures({ ...measures, writer }, measureRun, part);
  }
  let campaigns: number | null = null;
  for (let attempt = 1; ; attempt++) {
    let catalogueVersion: string | undefined;
    let all: Map<string, ScopeTotalsText> = totals;
    if (measures && writer && reads.catalogue) {
      if (attempt > 1) {
        const n = await timed('clear', () => writer!.clear('campaign:'));
        progress(
          `a campaign changed during the rebuild; redoing partition ${partition}'s campaign shares (${n} key(s) cleared)`,
        );
      }
      // Once a write found the catalogue changed, every later partition reads its campaigns again for itself.
      const snap = attempt > 1 || reads.catalogue.stale ? await readCampaigns(run, measureRun) : reads.catalogue;
      catalogueVersion = String(snap.version);
      campaigns = snap.campaigns.length;
      all = new Map(totals);
      let campaignCounts = emptyCounts();
      for (const c of snap.campaigns) {
        const part = snap.parts.get(c.id)?.get(partition) ?? emptyPart(() => [campaignScope(c.id)]);
        snap.parts.get(c.id)?.delete(partition);
        const r = await restoreCampaign({ ...measures, writer }, measureRun, c, part);
        if (r.totals) all.set(campaignScope(c.id), r.totals);
        campaignCounts = addCounts(campaignCounts, r.counts);
      }
      counts = addCounts(counts ?? emptyCounts(), campaignCounts);
    }
    const remove = mine.filter((s) => computable.has(scopeKind(s)) && !all.has(s));
    checkLock();
    const outcome = await timed('write', () =>
      deps.live.writeRebuiltState({
        token,
        topic,
        partition,
        totals: all as Map<string, Partial<Record<TotalField, string>>>,
        remove,
        offset,
        catalogueVersion,
      }),
    );
    if (outcome === 'lock-lost') throw new RebuildLockLostError();
    if (outcome === 'written') {
      progress(
        `Redis: partition ${partition} written (${all.size} scope share(s), ${remove.length} stale share(s) deleted), marked ready`,
      );
      return { scopes: [...all.keys()], remove, fingerprints, counts, campaigns, clearedKeys };
    }
    if (reads.catalogue) reads.catalogue.stale = true;
    if (attempt >= CATALOGUE_ATTEMPTS)
      throw new Error(
        `the campaign catalogue kept changing during the rebuild (${attempt} attempts); partition ${partition} was not written, run it again`,
      );
  }
}
