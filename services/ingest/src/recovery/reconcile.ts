import { compareTotals, type Comparison, type LiveSnapshot, type LiveStateStore, type LiveStatus, type RawTotals } from '@livetally/counters';
import { HISTORY_SCOPE_KINDS, type EventHistory } from '@livetally/history';

/**
 * Compares Redis with ClickHouse exactly, even while ingest keeps running.
 *
 * Cut 1: one atomic Redis read (MULTI/EXEC) takes every partition's applied offset
 * and the totals of every scope found by a SCAN just before; ClickHouse then totals
 * exactly the rows at or below those offsets. Rows reach ClickHouse before their
 * offset is applied in Redis, so both sides describe the same prefix of every
 * partition.
 *
 * Scopes created between the SCAN and the atomic read (a new stream, while ingest
 * runs) show up in ClickHouse's answer but were not read from Redis. Retrying until
 * no scope is new does not converge under steady ingest, so those scopes get a cut
 * of their own instead: a second atomic read of just them (with the offsets), and
 * ClickHouse's totals of just them at those offsets. Every scope is thus compared at
 * a consistent cut; a difference is never an artefact of timing.
 */

export interface ReconcileDeps {
  live: Pick<LiveStateStore, 'scanScopes' | 'snapshot'>;
  history: Pick<EventHistory, 'totalsByScope'>;
  topic: string;
  progress?: (message: string) => void;
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
  /** Null when Redis holds no live state (nothing to compare). */
  comparison: Comparison | null;
  timingsMs: Record<string, number>;
}

export const HISTORY_KINDS: ReadonlySet<string> = new Set(HISTORY_SCOPE_KINDS);
const computable = (kind: string) => HISTORY_KINDS.has(kind);

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const { live, history, topic } = deps;
  const progress = deps.progress ?? (() => undefined);
  const timingsMs = { scan: 0, snapshot: 0, clickhouse: 0, compare: 0 };
  const timed = async <T>(name: keyof typeof timingsMs, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      timingsMs[name] += Math.round(performance.now() - t);
    }
  };
  const notReady = (snap: LiveSnapshot): ReconcileResult => {
    progress(snap.status === 'rebuilding' ? 'Redis: a rebuild is running; nothing to compare yet' : 'Redis: no live state (marker missing): run `npm run rebuild`');
    return { status: snap.status, topic, offsets: offsetsOf(snap), lateScopes: 0, redisScopes: 0, clickhouseScopes: 0, comparison: null, timingsMs };
  };

  const scopes = await timed('scan', () => live.scanScopes());
  progress(`Redis: ${scopes.length} scope key(s) found (SCAN)`);
  const snap = await timed('snapshot', () => live.snapshot(topic, scopes));
  if (snap.status !== 'ready') return notReady(snap);
  progress(`Redis: atomic snapshot of ${scopes.length} scope(s) and ${snap.offsets.size} applied offset(s)`);
  const hist = await timed('clickhouse', () => history.totalsByScope(topic, snap.offsets));
  progress(`ClickHouse: totals of ${hist.size} scope(s) over the rows up to those offsets`);

  const read = new Set(scopes);
  const late = [...hist.keys()].filter((s) => !read.has(s));
  const t = performance.now();
  let comparison = compareTotals(present(snap.totals), new Map([...hist].filter(([s]) => read.has(s))), computable);
  timingsMs.compare += Math.round(performance.now() - t);

  let redisScopes = present(snap.totals).size;
  if (late.length > 0) {
    progress(`  ${late.length} scope(s) were created after the SCAN; comparing them at a second cut`);
    const snap2 = await timed('snapshot', () => live.snapshot(topic, late));
    if (snap2.status !== 'ready') return notReady(snap2);
    const hist2 = await timed('clickhouse', () => history.totalsByScope(topic, snap2.offsets, late));
    const t2 = performance.now();
    comparison = merge(comparison, compareTotals(present(snap2.totals), hist2, computable));
    timingsMs.compare += Math.round(performance.now() - t2);
    redisScopes += present(snap2.totals).size;
  }
  progress(`compared ${comparison.compared} scope(s): ${comparison.agreeing} agree, ${comparison.differences.length} differ`);
  return { status: 'ready', topic, offsets: offsetsOf(snap), lateScopes: late.length, redisScopes, clickhouseScopes: hist.size, comparison, timingsMs };
}

/** The verdict: agree only with live state and a comparison without differences. */
export function agrees(result: ReconcileResult): boolean {
  return result.status === 'ready' && result.comparison !== null && result.comparison.differences.length === 0;
}

/** Scopes whose key exists (an empty hash is a missing key). */
function present(totals: ReadonlyMap<string, RawTotals>): Map<string, RawTotals> {
  return new Map([...totals].filter(([, hash]) => Object.keys(hash).length > 0));
}

function offsetsOf(snap: LiveSnapshot): Record<string, string> {
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
