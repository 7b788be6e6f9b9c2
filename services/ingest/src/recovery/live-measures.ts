import { campaignScope, type Campaign } from '@livetally/campaigns';
import { HLL_REGISTERS, MINUTE_BUCKET_TTL_SECONDS, type LiveMeasureWriter } from '@livetally/live-state';
import {
  CombinationSums,
  type CombinationRow,
  type LiveHistory,
  type LiveSelection,
  type RegisterRow,
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

/** One partition's unique-viewer registers of one scope, only those that hold a rank (at most 16,384). */
export interface HeldRegisters {
  scope: string;
  indexes: Uint16Array;
  ranks: Uint8Array;
}

/**
 * One partition's part of a selection, read together with every other partition's:
 * its combinations' sums (totals, active hosts, leaderboards) and its viewers' registers.
 */
export interface PartitionPart {
  sums: CombinationSums;
  combinations: number;
  viewers: HeldRegisters[];
}

/** A selection read once for every partition of its cut: partition → its part. */
export type PartitionParts = Map<number, PartitionPart>;

export function emptyPart(scopesOf: (values: CombinationRow['values']) => readonly string[]): PartitionPart {
  return { sums: new CombinationSums(scopesOf), combinations: 0, viewers: [] };
}

function partOf(
  parts: PartitionParts,
  partition: number,
  scopesOf: (values: CombinationRow['values']) => readonly string[],
): PartitionPart {
  let part = parts.get(partition);
  if (!part) parts.set(partition, (part = emptyPart(scopesOf)));
  return part;
}

/** A scope's registers without its empty ones: held for every partition until each is written. */
function holdRegisters({ scope, registers }: RegisterRow): HeldRegisters {
  let n = 0;
  for (const r of registers) if (r !== 0) n++;
  const indexes = new Uint16Array(n);
  const ranks = new Uint8Array(n);
  for (let i = 0, j = 0; i < registers.length; i++)
    if (registers[i] !== 0) {
      indexes[j] = i;
      ranks[j++] = registers[i]!;
    }
  return { scope, indexes, ranks };
}

function expandRegisters({ scope, indexes, ranks }: HeldRegisters): { scope: string; registers: Uint8Array } {
  const registers = new Uint8Array(HLL_REGISTERS);
  for (let i = 0; i < indexes.length; i++) registers[indexes[i]!] = ranks[i]!;
  return { scope, registers };
}

/**
 * Reads a selection's combinations of scope columns (one pass over the rows of every
 * partition of its cut) and, with `viewers`, its viewers' registers (one more pass),
 * split by partition: each partition's part goes to that partition's writer only.
 */
export async function readByPartition(
  history: MeasureDeps['history'],
  run: Pick<MeasureRun, 'check' | 'timed'>,
  sel: LiveSelection,
  scopesOf: (values: CombinationRow['values']) => readonly string[],
  viewers: { sel: LiveSelection; timing: string } | null,
  timing: string,
): Promise<PartitionParts> {
  const parts: PartitionParts = new Map();
  await run.timed(timing, () =>
    history.forEachCombination(sel, CHUNK, async (rows) => {
      run.check();
      for (const row of rows) {
        const part = partOf(parts, row.partition, scopesOf);
        part.sums.add(row);
        part.combinations++;
      }
    }),
  );
  run.check();
  if (viewers)
    await run.timed(viewers.timing, () =>
      history.forEachViewerHyperLogLog(viewers.sel, REGISTER_CHUNK_SCOPES, async (rows) => {
        run.check();
        for (const row of rows) partOf(parts, row.partition, scopesOf).viewers.push(holdRegisters(row));
      }),
    );
  run.check();
  return parts;
}

/**
 * Every measure of one partition's part of a selection but its totals: minute buckets
 * (read here, for this partition only: the read is bounded by the event time, and holding
 * them for every partition would hold scopes × minutes × partitions rows); active hosts
 * and leaderboards from its combinations' sums; unique viewers from its registers.
 */
async function restoreSelection(
  deps: MeasureDeps,
  run: MeasureRun,
  sel: LiveSelection,
  target: { parent: string; label: string; part: PartitionPart },
  viewersLabel: string | null,
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

  const { sums, viewers } = target.part;
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

  if (viewersLabel !== null) {
    await run.timed('uniqueViewers', async () => {
      for (let i = 0; i < viewers.length; i += REGISTER_CHUNK_SCOPES) {
        run.check();
        const rows = viewers.slice(i, i + REGISTER_CHUNK_SCOPES).map(expandRegisters);
        counts.viewerRegisters += await writer.setHyperLogLogs('viewers', rows);
      }
      counts.viewerScopes = viewers.length;
    });
    run.check();
    run.progress(
      `  ${viewersLabel}: unique-viewer HyperLogLogs of ${counts.viewerScopes} scope(s) written from ${counts.viewerRegisters} register(s) ClickHouse computed`,
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

const dimensionSelection = (run: Pick<MeasureRun, 'topic' | 'upTo'>) =>
  ({ scopes: 'dimensions', topic: run.topic, upTo: run.upTo }) as const;

/**
 * Every dimension combination (and, for `viewerKinds`, the viewers' registers) at the
 * cut, read once for every partition of it: the totals, active hosts, leaderboards and
 * unique viewers of every dimension scope, per partition.
 */
export function readDimensions(
  deps: Pick<MeasureDeps, 'history' | 'viewerKinds'>,
  run: MeasureRun,
): Promise<PartitionParts> {
  const base = dimensionSelection(run);
  // One query for every kind's registers: the answer is at most 16,384 registers a scope and partition.
  const viewers =
    deps.viewerKinds.length === 0 ? null : { sel: { ...base, kinds: deps.viewerKinds }, timing: 'uniqueViewers' };
  return readByPartition(deps.history, run, base, CombinationSums.dimensionScopes, viewers, 'totals');
}

/**
 * Minute buckets and HyperLogLogs of every dimension scope, and the leaderboards of
 * `all`, for the partition of `run.upTo`; `part`: that partition's part of
 * readDimensions (read with the totals).
 */
export function restoreDimensionMeasures(
  deps: MeasureDeps,
  run: MeasureRun,
  part: PartitionPart,
): Promise<MeasureCounts> {
  const viewersLabel = deps.viewerKinds.length === 0 ? null : `${deps.viewerKinds.join(', ')} scopes`;
  return restoreSelection(
    deps,
    run,
    dimensionSelection(run),
    { parent: 'all', label: 'dimension scopes', part },
    viewersLabel,
  );
}

function campaignSelection(
  run: Pick<MeasureRun, 'topic' | 'upTo'>,
  campaign: Campaign,
): LiveSelection & { scopes: 'campaign' } {
  return {
    scopes: 'campaign',
    scope: campaignScope(campaign.id),
    slice: {
      topic: run.topic,
      upTo: run.upTo,
      startsAt: campaign.startsAt,
      endsAt: campaign.endsAt,
      filters: campaign.filters,
    },
  };
}

/** The rows one campaign's definition matches at the cut, read once for every partition of it. */
export async function readCampaign(
  deps: Pick<MeasureDeps, 'history'>,
  run: MeasureRun,
  campaign: Campaign,
): Promise<PartitionParts> {
  const sel = campaignSelection(run, campaign);
  const parts = await readByPartition(
    deps.history,
    run,
    sel,
    () => [sel.scope],
    { sel, timing: 'uniqueViewers' },
    'combinations',
  );
  const combinations = [...parts.values()].reduce((n, p) => n + p.combinations, 0);
  run.progress(
    `  ${sel.scope}: ${combinations} combination(s) of stream, host, city, district, category and platform in ${parts.size} partition(s)`,
  );
  return parts;
}

/**
 * Every live measure of one campaign scope in the partition of `run.upTo`, from its part
 * of readCampaign; returns them with the campaign's totals (for the final atomic write).
 */
export async function restoreCampaign(
  deps: MeasureDeps,
  run: MeasureRun,
  campaign: Campaign,
  part: PartitionPart,
): Promise<{ totals: ScopeTotalsText | undefined; counts: MeasureCounts }> {
  const sel = campaignSelection(run, campaign);
  const counts = await restoreSelection(deps, run, sel, { parent: sel.scope, label: sel.scope, part }, sel.scope);
  return { totals: part.sums.scopeTotals().get(sel.scope), counts };
}
