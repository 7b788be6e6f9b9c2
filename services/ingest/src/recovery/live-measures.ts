import { campaignScope, type Campaign } from '@livetally/campaigns';
import { MINUTE_BUCKET_TTL_SECONDS, type LiveMeasureWriter } from '@livetally/live-state';
import type { LiveHistory, LiveSelection, ScopeTotalsText } from '@livetally/history';

/**
 * Restores the live measures beyond cumulative totals from ClickHouse, for the rows
 * at or below a cut: minute buckets of the last MINUTE_BUCKET_TTL_SECONDS (by event
 * time), the unique-viewer and active-host HyperLogLogs, and the leaderboards of
 * `all` and of every campaign. Runs while the rebuild lock is held, after every such
 * key of the prefix was cleared, so plain additions give exactly history's values.
 */

export interface MeasureDeps {
  history: Pick<LiveHistory, 'totals' | 'forEachMinuteBucket' | 'forEachDistinct' | 'rankings'>;
  writer: Pick<LiveMeasureWriter, 'clear' | 'addMinuteBuckets' | 'addToHyperLogLogs' | 'addRankings'>;
  /** Dimension scope kinds whose unique-viewer HyperLogLogs are restored (high-cardinality kinds may be left out). */
  viewerKinds: readonly string[];
}

export interface MeasureCounts {
  minuteBuckets: number;
  /** Distinct (scope, viewer id) pairs added to unique-viewer HyperLogLogs. */
  viewerIds: number;
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

export const emptyCounts = (): MeasureCounts => ({ minuteBuckets: 0, viewerIds: 0, hostIds: 0, rankEntries: 0 });

export function addCounts(a: MeasureCounts, b: MeasureCounts): MeasureCounts {
  return {
    minuteBuckets: a.minuteBuckets + b.minuteBuckets,
    viewerIds: a.viewerIds + b.viewerIds,
    hostIds: a.hostIds + b.hostIds,
    rankEntries: a.rankEntries + b.rankEntries,
  };
}

const CHUNK = 20_000;
const MINUTE = 60_000;
const PROGRESS_EVERY = 200_000;

/** The first minute the live apply still writes buckets for at `now`. */
export function firstLiveMinute(now: number): number {
  return Math.ceil((now - MINUTE_BUCKET_TTL_SECONDS * 1000) / MINUTE) * MINUTE;
}

async function restoreSelection(
  deps: MeasureDeps,
  run: MeasureRun,
  sel: LiveSelection,
  parent: string,
  viewerSelections: { label: string; sel: LiveSelection }[],
  label: string,
): Promise<MeasureCounts> {
  const counts = emptyCounts();
  const { writer, history } = deps;

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

  await run.timed('activeHosts', async () => {
    counts.hostIds = await history.forEachDistinct(sel, 'hosts', CHUNK, async (pairs) => {
      run.check();
      await writer.addToHyperLogLogs('hosts', pairs);
    });
  });
  run.check();
  run.progress(`  ${label}: active-host HyperLogLogs from ${counts.hostIds} (scope, host) pair(s)`);

  for (const v of viewerSelections) {
    const t = performance.now();
    let n = 0;
    let reported = 0;
    await run.timed('uniqueViewers', async () => {
      n = await history.forEachDistinct(v.sel, 'viewers', CHUNK, async (pairs) => {
        run.check();
        await writer.addToHyperLogLogs('viewers', pairs);
        if (Math.floor((reported + pairs.length) / PROGRESS_EVERY) > Math.floor(reported / PROGRESS_EVERY))
          run.progress(`    ${v.label}: ${reported + pairs.length} viewer id(s) so far…`);
        reported += pairs.length;
      });
    });
    run.check();
    counts.viewerIds += n;
    run.progress(
      `  ${v.label}: unique-viewer HyperLogLogs from ${n} (scope, viewer) pair(s) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }

  await run.timed('leaderboards', async () => {
    const rows = await history.rankings(sel);
    run.check();
    for (let i = 0; i < rows.length; i += CHUNK)
      counts.rankEntries += await writer.addRankings(parent, rows.slice(i, i + CHUNK));
  });
  run.check();
  run.progress(
    `  ${label}: ${counts.rankEntries} leaderboard entr${counts.rankEntries === 1 ? 'y' : 'ies'} of ${parent}`,
  );
  return counts;
}

/** Minute buckets and HyperLogLogs of every dimension scope, and the leaderboards of `all`. */
export async function restoreDimensionMeasures(deps: MeasureDeps, run: MeasureRun): Promise<MeasureCounts> {
  const base = { scopes: 'dimensions' as const, topic: run.topic, upTo: run.upTo };
  // One query per kind for the viewer ids: the answers stay bounded by one kind's pairs.
  const viewers = deps.viewerKinds.map((kind) => ({ label: `${kind} scopes`, sel: { ...base, kinds: [kind] } }));
  return restoreSelection(deps, run, base, 'all', viewers, 'dimension scopes');
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
  const totals = (await run.timed('campaignTotals', () => deps.history.totals(sel))).get(scope);
  run.check();
  const counts = await restoreSelection(deps, run, sel, scope, [{ label: scope, sel }], scope);
  return { totals, counts };
}
