import { campaignScope, type Campaign } from '@livetally/campaigns';
import { MINUTE_BUCKET_TTL_SECONDS, type LiveMeasureWriter } from '@livetally/live-state';
import {
  CombinationSums,
  type CombinationRow,
  type LiveHistory,
  type LiveSelection,
  type ScopeTotalsText,
} from '@livetally/history';

/**
 * Restores the live measures beyond cumulative totals from ClickHouse, for the rows
 * at or below a cut: minute buckets of the last MINUTE_BUCKET_TTL_SECONDS (by event
 * time), the unique-viewer and active-host HyperLogLogs, and the leaderboards of
 * `all` and of every campaign. Runs while the rebuild lock is held, after every such
 * key of the prefix was cleared, so plain additions give exactly history's values.
 */

export interface MeasureDeps {
  history: Pick<LiveHistory, 'forEachMinuteBucket' | 'forEachCombination' | 'forEachViewerHyperLogLog'>;
  writer: Pick<
    LiveMeasureWriter,
    'clear' | 'addMinuteBuckets' | 'addToHyperLogLogs' | 'setHyperLogLogs' | 'addRankings'
  >;
  /** Dimension scope kinds whose unique-viewer HyperLogLogs are restored (high-cardinality kinds may be left out). */
  viewerKinds: readonly string[];
}

export interface MeasureCounts {
  minuteBuckets: number;
  /** Unique-viewer HyperLogLogs written (one per scope with viewers). */
  viewerScopes: number;
  /** Their registers that hold a rank (at most 16,384 per scope, however many viewers). */
  viewerRegisters: number;
  /** Distinct (scope, host id) pairs added to active-host HyperLogLogs. */
  hostIds: number;
  /** Leaderboard entries (member × dimension × measure). */
  rankEntries: number;
}

export interface MeasureRun {
  topic: string;
  upTo: ReadonlyMap<number, string>;
  now: number;
  /** Throws when the rebuild must stop (lock lost, interrupted); called between chunks. */
  check(): void;
  progress(message: string): void;
  timed<T>(name: string, f: () => Promise<T>): Promise<T>;
}

export const emptyCounts = (): MeasureCounts => ({
  minuteBuckets: 0,
  viewerScopes: 0,
  viewerRegisters: 0,
  hostIds: 0,
  rankEntries: 0,
});

export function addCounts(a: MeasureCounts, b: MeasureCounts): MeasureCounts {
  return {
    minuteBuckets: a.minuteBuckets + b.minuteBuckets,
    viewerScopes: a.viewerScopes + b.viewerScopes,
    viewerRegisters: a.viewerRegisters + b.viewerRegisters,
    hostIds: a.hostIds + b.hostIds,
    rankEntries: a.rankEntries + b.rankEntries,
  };
}

const CHUNK = 20_000;
/** Scopes per chunk of HyperLogLog registers: each is up to 16,384 registers. */
const REGISTER_CHUNK_SCOPES = 64;
const MINUTE = 60_000;

/** The first minute the live apply still writes buckets for at `now`. */
export function firstLiveMinute(now: number): number {
  return Math.ceil((now - MINUTE_BUCKET_TTL_SECONDS * 1000) / MINUTE) * MINUTE;
}

/**
 * Reads a selection's combinations of scope columns (one pass over its rows) into sums:
 * its scopes' totals, active hosts and leaderboards. `check` runs between chunks.
 */
export async function sumCombinations(
  history: MeasureDeps['history'],
  sel: LiveSelection,
  scopesOf: (values: CombinationRow['values']) => readonly string[],
  check: () => void,
): Promise<{ sums: CombinationSums; combinations: number }> {
  const sums = new CombinationSums(scopesOf);
  const combinations = await history.forEachCombination(sel, CHUNK, async (rows) => {
    check();
    for (const row of rows) sums.add(row);
  });
  return { sums, combinations };
}

/**
 * Every measure of a selection but its totals: minute buckets; active hosts and
 * leaderboards from its combinations' sums; unique viewers from registers.
 */
async function restoreSelection(
  deps: MeasureDeps,
  run: MeasureRun,
  sel: LiveSelection,
  target: { parent: string; label: string; sums: CombinationSums },
  viewers: { label: string; sel: LiveSelection } | null,
): Promise<MeasureCounts> {
  const counts = emptyCounts();
  const { writer, history } = deps;
  const { parent, label } = target;

  await run.timed('minuteBuckets', async () => {
    await history.forEachMinuteBucket(sel, firstLiveMinute(run.now), CHUNK, async (rows) => {
      run.check();
      counts.minuteBuckets += await writer.addMinuteBuckets(rows, run.now);
    });
  });
  run.check();
  run.progress(
    `  ${label}: ${counts.minuteBuckets} minute bucket(s) of the last ${MINUTE_BUCKET_TTL_SECONDS / 3600} h`,
  );

  const { sums } = target;
  await run.timed('activeHosts', async () => {
    const pairs = sums.hostPairs();
    counts.hostIds = pairs.length;
    for (let i = 0; i < pairs.length; i += CHUNK) {
      run.check();
      await writer.addToHyperLogLogs('hosts', pairs.slice(i, i + CHUNK));
    }
  });
  run.check();
  run.progress(`  ${label}: active-host HyperLogLogs from ${counts.hostIds} (scope, host) pair(s)`);

  if (viewers) {
    const t = performance.now();
    await run.timed('uniqueViewers', async () => {
      counts.viewerScopes = await history.forEachViewerHyperLogLog(viewers.sel, REGISTER_CHUNK_SCOPES, async (rows) => {
        run.check();
        counts.viewerRegisters += await writer.setHyperLogLogs('viewers', rows);
      });
    });
    run.check();
    run.progress(
      `  ${viewers.label}: unique-viewer HyperLogLogs of ${counts.viewerScopes} scope(s) written from ${counts.viewerRegisters} register(s) ClickHouse computed in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }

  await run.timed('leaderboards', async () => {
    const rows = sums.rankings();
    for (let i = 0; i < rows.length; i += CHUNK)
      counts.rankEntries += await writer.addRankings(parent, rows.slice(i, i + CHUNK));
  });
  run.check();
  run.progress(
    `  ${label}: ${counts.rankEntries} leaderboard entr${counts.rankEntries === 1 ? 'y' : 'ies'} of ${parent}`,
  );
  return counts;
}

/**
 * Minute buckets and HyperLogLogs of every dimension scope, and the leaderboards of
 * `all`; `dimensions`: the sums of every dimension combination at the cut (read with
 * the totals).
 */
export async function restoreDimensionMeasures(
  deps: MeasureDeps,
  run: MeasureRun,
  dimensions: CombinationSums,
): Promise<MeasureCounts> {
  const base = { scopes: 'dimensions' as const, topic: run.topic, upTo: run.upTo };
  // One query for every kind's registers: the answer is at most 16,384 registers a scope.
  const viewers =
    deps.viewerKinds.length === 0
      ? null
      : { label: `${deps.viewerKinds.join(', ')} scopes`, sel: { ...base, kinds: deps.viewerKinds } };
  return restoreSelection(deps, run, base, { parent: 'all', label: 'dimension scopes', sums: dimensions }, viewers);
}

/**
 * Every live measure of one campaign scope, from the rows its definition matches;
 * returns them with the campaign's totals (for the final atomic write).
 */
export async function restoreCampaign(
  deps: MeasureDeps,
  run: MeasureRun,
  campaign: Campaign,
): Promise<{ totals: ScopeTotalsText | undefined; counts: MeasureCounts }> {
  const scope = campaignScope(campaign.id);
  const sel: LiveSelection = {
    scopes: 'campaign',
    scope,
    slice: {
      topic: run.topic,
      upTo: run.upTo,
      startsAt: campaign.startsAt,
      endsAt: campaign.endsAt,
      filters: campaign.filters,
    },
  };
  const { sums, combinations } = await run.timed('combinations', () =>
    sumCombinations(deps.history, sel, () => [scope], run.check),
  );
  run.check();
  run.progress(`  ${scope}: ${combinations} combination(s) of stream, host, city, district, category and platform`);
  const counts = await restoreSelection(deps, run, sel, { parent: scope, label: scope, sums }, { label: scope, sel });
  return { totals: sums.scopeTotals().get(scope), counts };
}
