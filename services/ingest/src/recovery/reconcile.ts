import { campaignScope, type Campaign } from '@livetally/campaigns';
import {
  comparePartitions,
  compareTotals,
  parsePartitionTag,
  scopeKind,
  type CatalogueKeys,
  type Comparison,
  type LiveSnapshot,
  type LiveStateStore,
  type LiveStatus,
  type RawTotals,
} from '@livetally/live-state';
import { HISTORY_SCOPE_KINDS, type EventHistory, type LiveHistory } from '@livetally/history';

/**
 * Compares Redis with ClickHouse exactly, even while ingest keeps running.
 *
 * Cut 1: one atomic Redis read (MULTI/EXEC) per partition takes its applied offset
 * and its shares of the scopes a SCAN just before found on it; once ClickHouse holds
 * every partition through those offsets too (the workers' durable offsets reach them;
 * rows reach ClickHouse shortly after Redis), ClickHouse totals exactly the rows at or
 * below them, so both sides describe the same prefix of every partition.
 *
 * Scopes created between the SCAN and the atomic read (a new stream, while ingest
 * runs), or that gained a share on another partition meanwhile (a host's new stream),
 * show up in ClickHouse's answer but were not read from Redis there. Retrying until
 * no scope is new does not converge under steady ingest, so those scopes get a cut
 * of their own instead: a second atomic read of just them (with the offsets), and
 * ClickHouse's totals of just them at those offsets. Every scope is thus compared at
 * a consistent cut; a difference is never an artefact of timing.
 *
 * Campaign scopes (with `campaigns`) get a cut of their own too: one atomic read of
 * the applied offsets, every campaign scope's totals and the campaign catalogue; for
 * each campaign ClickHouse totals the rows at or below those offsets that its
 * definition in that catalogue matches (window and filters, as query parameters).
 * Workers refuse to apply a batch matched against an older catalogue, so at that cut
 * Redis holds exactly those sums — except while a campaign's backfill (after a change)
 * is still adding history; a differing campaign scope is therefore compared once more
 * at a fresh cut after `recheckMs`, and reported only if it differs there too.
 */

export interface ReconcileDeps {
  live: Pick<LiveStateStore, 'scanShares' | 'snapshot' | 'waitUntilDurable'>;
  /**
   * ClickHouse's totals: every partition's Redis share is compared with its own rows
   * (ADR 0003), and a difference names its partition.
   */
  history: Pick<EventHistory, 'totalsByPartition'> & Partial<Pick<EventHistory, 'maxOffsets'>>;
  /** Compares campaign scopes against the catalogue's definitions; left out, they are skipped. */
  campaigns?: { keys: CatalogueKeys; history: Pick<LiveHistory, 'totals'>; recheckMs?: number };
  topic: string;
  progress?: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface ReconcileResult {
  status: LiveStatus;
  topic: string;
  /** Applied offsets of the main cut, partition → offset. */
  offsets: Record<string, string>;
  /** Scopes created during the run, compared at a second cut. */
  lateScopes: number;
  redisScopes: number;
  clickhouseScopes: number;
  /** Scope kinds compared (the others, if any, are listed as skipped in the comparison). */
  kinds: string[];
  /** Campaigns in the catalogue at the campaign cut (null: campaign scopes not compared). */
  campaigns: number | null;
  /** Campaign scopes that differed at first and were compared again at a fresh cut. */
  campaignRechecks: number;
  /** Null when Redis holds no live state (nothing to compare). */
  comparison: Comparison | null;
  /**
   * Partitions ClickHouse holds rows of that have no applied offset among the partitions
   * registered in Redis (ADR 0003): Redis lost them, or its registry did, and readers sum
   * none of their shares. Any makes reconcile disagree. (Needs `history.maxOffsets`.)
   */
  unregisteredPartitions: number[];
  timingsMs: Record<string, number>;
}

export const HISTORY_KINDS: ReadonlySet<string> = new Set(HISTORY_SCOPE_KINDS);
const computable = (kind: string) => HISTORY_KINDS.has(kind);
const CAMPAIGN_ROUNDS = 3;

type Timings = { scan: number; snapshot: number; clickhouse: number; compare: number; campaigns: number };

/** One reconcile's context: its deps, the kinds compared, its timings and progress. */
interface ReconcileRun {
  deps: ReconcileDeps;
  kinds: string[];
  progress: (message: string) => void;
  timingsMs: Timings;
  timed<T>(name: keyof Timings, f: () => Promise<T>): Promise<T>;
  /** Whether a scope is compared at the dimension cut (campaign scopes get their own when compared). */
  dimensional(scope: string): boolean;
}

/** What the dimension cuts found: the main cut's snapshot and the comparison of every scope at a cut. */
interface DimensionOutcome {
  snap: LiveSnapshot;
  comparison: Comparison;
  late: number;
  redisScopes: number;
  clickhouseScopes: number;
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const run = startRun(deps);
  const { progress, kinds } = run;
  const scanned = await run.timed('scan', () => deps.live.scanShares());
  const { byPartition, campaignScopes, keys } = scannedScopes(run, scanned);
  progress(
    `Redis: ${keys} share key(s) found (SCAN) on ${byPartition.size} partition(s) of the topic; comparing kinds ${kinds.join(', ')}`,
  );
  const dims = await compareDimensionScopes(run, byPartition);
  if ('status' in dims) return notReady(run, dims);
  const unregisteredPartitions = await unregistered(run, dims.snap);
  if (unregisteredPartitions.length > 0)
    progress(
      `ClickHouse holds rows of partition(s) ${unregisteredPartitions.join(', ')}, which Redis has no applied offset for in its registry: their shares are in no sum`,
    );
  let { comparison, redisScopes } = dims;
  let campaigns: number | null = null;
  let campaignRechecks = 0;
  if (deps.campaigns) {
    const outcome = await run.timed('campaigns', () => compareCampaignScopes(run, deps.campaigns!, campaignScopes));
    if (outcome.status !== 'ready') return notReady(run, { status: outcome.status, offsets: dims.snap.offsets });
    campaigns = outcome.campaigns;
    campaignRechecks = outcome.rechecks;
    redisScopes += outcome.redisScopes;
    comparison = merge(comparison, outcome.comparison);
    progress(
      `campaign scopes: ${outcome.comparison.compared} compared against ${outcome.campaigns} campaign definition(s) at their own cut, ${outcome.comparison.differences.length} differ`,
    );
  }
  progress(
    `compared ${comparison.compared} scope(s) of kinds ${kinds.join(', ')}: ${comparison.agreeing} agree, ${comparison.differences.length} differ`,
  );
  return {
    status: 'ready',
    topic: deps.topic,
    offsets: offsetsOf(dims.snap),
    lateScopes: dims.late,
    redisScopes,
    clickhouseScopes: dims.clickhouseScopes,
    kinds,
    campaigns,
    campaignRechecks,
    comparison,
    unregisteredPartitions,
    timingsMs: run.timingsMs,
  };
}

function startRun(deps: ReconcileDeps): ReconcileRun {
  const timingsMs: Timings = { scan: 0, snapshot: 0, clickhouse: 0, compare: 0, campaigns: 0 };
  return {
    deps,
    kinds: deps.campaigns ? [...HISTORY_SCOPE_KINDS, 'campaign'] : [...HISTORY_SCOPE_KINDS],
    progress: deps.progress ?? (() => undefined),
    timingsMs,
    async timed(name, f) {
      const t = performance.now();
      try {
        return await f();
      } finally {
        timingsMs[name] += Math.round(performance.now() - t);
      }
    },
    // With campaigns compared, campaign scopes leave the dimension cut for a cut of their own.
    dimensional: (scope) => !deps.campaigns || scopeKind(scope) !== 'campaign',
  };
}

function notReady(run: ReconcileRun, snap: Pick<LiveSnapshot, 'status' | 'offsets'>): ReconcileResult {
  run.progress(
    snap.status === 'rebuilding'
      ? 'Redis: a rebuild is running; nothing to compare yet'
      : 'Redis: no live state (marker missing): run `npm run rebuild`',
  );
  return {
    status: snap.status,
    topic: run.deps.topic,
    offsets: offsetsOf(snap),
    lateScopes: 0,
    redisScopes: 0,
    clickhouseScopes: 0,
    kinds: run.kinds,
    campaigns: null,
    campaignRechecks: 0,
    comparison: null,
    unregisteredPartitions: [],
    timingsMs: run.timingsMs,
  };
}

/**
 * What the SCAN found: each partition of the topic with the dimension scopes it holds a
 * share of, and the campaign scopes of any partition (compared at a cut of their own).
 */
function scannedScopes(
  run: ReconcileRun,
  scanned: ReadonlyMap<string, ReadonlySet<string>>,
): { byPartition: Map<number, string[]>; campaignScopes: string[]; keys: number } {
  const byPartition = new Map<number, string[]>();
  const campaignScopes = new Set<string>();
  let keys = 0;
  for (const [tag, scopes] of scanned) {
    keys += scopes.size;
    const parsed = parsePartitionTag(tag);
    const own: string[] | null = parsed?.topic === run.deps.topic ? [] : null;
    for (const scope of scopes)
      if (!run.dimensional(scope)) campaignScopes.add(scope);
      else own?.push(scope);
    if (own && parsed) byPartition.set(parsed.partition, own.sort());
  }
  return { byPartition, campaignScopes: [...campaignScopes].sort(), keys };
}

/**
 * Cut 1 over each partition's scanned scopes, then a second cut of just the scopes
 * ClickHouse found a share of that was not read; returns the snapshot that is not ready
 * instead when Redis holds no live state.
 */
async function compareDimensionScopes(
  run: ReconcileRun,
  byPartition: ReadonlyMap<number, readonly string[]>,
): Promise<DimensionOutcome | LiveSnapshot> {
  const { deps, progress, timed, timingsMs } = run;
  const { live, topic } = deps;
  const snap = await timed('snapshot', () => live.snapshot(topic, byPartition));
  if (snap.status !== 'ready') return snap;
  progress(`Redis: atomic snapshot of ${snap.totals.size} scope(s) and ${snap.offsets.size} applied offset(s)`);
  await timed('snapshot', () => live.waitUntilDurable(topic, snap.offsets));
  const hist = await timed('clickhouse', () => deps.history.totalsByPartition(topic, snap.offsets));
  const clickhouseScopes = new Set<string>();
  for (const m of hist.values()) for (const s of m.keys()) clickhouseScopes.add(s);
  progress(
    `ClickHouse: totals of ${clickhouseScopes.size} scope(s) over the rows up to those offsets, per partition (${hist.size} with rows)`,
  );

  const late = unread(hist, byPartition);
  const t = performance.now();
  let comparison = comparePartitions(without(snap.shares, late), without(hist, late), computable);
  timingsMs.compare += Math.round(performance.now() - t);
  let redisScopes = countPresent(snap.totals, late);
  if (late.size > 0) {
    progress(`  ${late.size} scope(s) gained a share after the SCAN; comparing them at a second cut`);
    const lateScopes = [...late].sort();
    const snap2 = await timed('snapshot', () => live.snapshot(topic, lateScopes));
    if (snap2.status !== 'ready') return snap2;
    await timed('snapshot', () => live.waitUntilDurable(topic, snap2.offsets));
    const hist2 = await timed('clickhouse', () => deps.history.totalsByPartition(topic, snap2.offsets, lateScopes));
    const t2 = performance.now();
    comparison = merge(comparison, comparePartitions(snap2.shares, hist2, computable));
    timingsMs.compare += Math.round(performance.now() - t2);
    redisScopes += countPresent(snap2.totals);
  }
  return { snap, comparison, late: late.size, redisScopes, clickhouseScopes: clickhouseScopes.size };
}

/** Scopes ClickHouse holds rows of on a partition whose share of them was not read. */
function unread(
  hist: ReadonlyMap<number, ReadonlyMap<string, RawTotals>>,
  read: ReadonlyMap<number, readonly string[]>,
): Set<string> {
  const late = new Set<string>();
  for (const [partition, scopes] of hist) {
    const own = new Set(read.get(partition) ?? []);
    for (const scope of scopes.keys()) if (!own.has(scope)) late.add(scope);
  }
  return late;
}

/** The shares of every scope but `left` (no copy when nothing is left out). */
function without<T>(shares: ReadonlyMap<number, ReadonlyMap<string, T>>, left: ReadonlySet<string>) {
  if (left.size === 0) return shares;
  return new Map([...shares].map(([p, scopes]) => [p, new Map([...scopes].filter(([s]) => !left.has(s)))]));
}

/** Scopes whose key exists (an empty hash is a missing key), but those of `left`. */
function countPresent(totals: ReadonlyMap<string, RawTotals>, left: ReadonlySet<string> = new Set()): number {
  let n = 0;
  for (const [scope, hash] of totals) if (!left.has(scope) && exists(hash)) n++;
  return n;
}

/**
 * The partitions ClickHouse holds rows of without an applied offset in Redis's registry at
 * the cut, checked once more against the registry (a partition first taken after the cut
 * may hold rows already).
 */
async function unregistered(run: ReconcileRun, snap: LiveSnapshot): Promise<number[]> {
  const { history, live, topic } = run.deps;
  if (!history.maxOffsets) return [];
  const stored = await run.timed('clickhouse', () => history.maxOffsets!(topic));
  const missing = [...stored.keys()].filter((p) => !snap.offsets.has(p));
  if (missing.length === 0) return [];
  const again = await run.timed('snapshot', () => live.snapshot(topic, []));
  return missing.filter((p) => !again.offsets.has(p)).sort((a, b) => a - b);
}

/**
 * Campaign scopes at a cut of their own; those that differ are compared once more at a
 * fresh cut after `recheckMs` (a backfill may have been adding history).
 */
async function compareCampaignScopes(
  run: ReconcileRun,
  cc: NonNullable<ReconcileDeps['campaigns']>,
  scopes: readonly string[],
): Promise<CampaignOutcome> {
  const { deps, progress } = run;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const first = await compareCampaigns(cc, deps.live, deps.topic, scopes);
  if (first.status !== 'ready') return first;
  const differing = first.comparison.differences.map((d) => d.scope);
  if (differing.length === 0) return first;
  const recheckMs = cc.recheckMs ?? 2_000;
  progress(
    `  ${differing.length} campaign scope(s) differ; comparing them again at a fresh cut in ${(recheckMs / 1000).toFixed(1)} s (a backfill may be running)`,
  );
  await sleep(recheckMs);
  const again = await compareCampaigns(cc, deps.live, deps.topic, differing, { only: true });
  if (again.status !== 'ready') return again;
  return {
    ...first,
    rechecks: differing.length,
    comparison: {
      ...first.comparison,
      agreeing: first.comparison.agreeing + again.comparison.agreeing,
      differences: again.comparison.differences,
    },
  };
}

type CampaignOutcome =
  | { status: Exclude<LiveStatus, 'ready'> }
  | { status: 'ready'; comparison: Comparison; campaigns: number; redisScopes: number; rechecks: number };

/**
 * Compares campaign scopes at one atomic cut (offsets, totals, catalogue). Starts with
 * `scopes` plus, unless `only`, every campaign of the catalogue; campaigns that
 * appear in the catalogue read at a cut but were not asked for are compared at a
 * further cut of their own (bounded).
 */
async function compareCampaigns(
  cc: NonNullable<ReconcileDeps['campaigns']>,
  live: ReconcileDeps['live'],
  topic: string,
  scopes: readonly string[],
  options: { only?: boolean } = {},
): Promise<CampaignOutcome> {
  let comparison: Comparison = { compared: 0, agreeing: 0, differences: [], skipped: [] };
  const done = new Set<string>();
  let pending = [...new Set(scopes)];
  let campaigns = 0;
  let redisScopes = 0;
  for (let round = 0; round < CAMPAIGN_ROUNDS && (pending.length > 0 || (round === 0 && !options.only)); round++) {
    const snap = await live.snapshot(topic, pending, cc.keys);
    if (snap.status !== 'ready') return { status: snap.status };
    await live.waitUntilDurable(topic, snap.offsets);
    const defs = new Map<string, Campaign>();
    for (const body of snap.catalogue?.bodies ?? []) {
      const c = JSON.parse(body) as Campaign;
      defs.set(campaignScope(c.id), c);
    }
    campaigns = defs.size;
    const hist = new Map<string, RawTotals>();
    for (const scope of pending) {
      const c = defs.get(scope);
      if (!c) continue; // a campaign scope without a definition must be empty
      const totals = await cc.history.totals({
        scopes: 'campaign',
        scope,
        slice: { topic, upTo: snap.offsets, startsAt: c.startsAt, endsAt: c.endsAt, filters: c.filters },
      });
      const t = totals.get(scope);
      if (t) hist.set(scope, t);
    }
    const redis = present(snap.totals);
    redisScopes += redis.size;
    comparison = merge(
      comparison,
      compareTotals(redis, hist, () => true),
    );
    // Only the asked-for scopes were read: count them even when neither side has them.
    const absent = pending.filter((s) => !redis.has(s) && !hist.has(s)).length;
    comparison = { ...comparison, compared: comparison.compared + absent, agreeing: comparison.agreeing + absent };
    for (const s of pending) done.add(s);
    pending = options.only ? [] : [...defs.keys()].filter((s) => !done.has(s));
  }
  return { status: 'ready', comparison, campaigns, redisScopes, rechecks: 0 };
}

/** The verdict: agree only with live state and a comparison without differences. */
export function agrees(result: ReconcileResult): boolean {
  return (
    result.status === 'ready' &&
    result.comparison !== null &&
    result.comparison.differences.length === 0 &&
    result.unregisteredPartitions.length === 0
  );
}

/** Scopes whose key exists (an empty hash is a missing key). */
function present(totals: ReadonlyMap<string, RawTotals>): Map<string, RawTotals> {
  return new Map([...totals].filter(([, hash]) => exists(hash)));
}

/** Whether a scope's key exists: Redis reads a missing hash as an empty one. */
function exists(hash: RawTotals): boolean {
  return Object.keys(hash).length > 0;
}

function offsetsOf(snap: Pick<LiveSnapshot, 'offsets'>): Record<string, string> {
  return Object.fromEntries([...snap.offsets].map(([p, o]) => [String(p), o]));
}

function merge(a: Comparison, b: Comparison): Comparison {
  const skipped = new Map<string, number>();
  for (const s of [...a.skipped, ...b.skipped]) skipped.set(s.kind, (skipped.get(s.kind) ?? 0) + s.scopes);
  return {
    compared: a.compared + b.compared,
    agreeing: a.agreeing + b.agreeing,
    differences: [...a.differences, ...b.differences].sort((x, y) => x.scope.localeCompare(y.scope)),
    skipped: [...skipped].map(([kind, scopes]) => ({ kind, scopes })).sort((x, y) => x.kind.localeCompare(y.kind)),
  };
}
