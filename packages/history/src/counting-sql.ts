import {
  EVENT_TYPES,
  LEADERBOARD_MEASURES,
  MEASURES,
  contributionsOf,
  viewerFieldOf,
  type LeaderboardMeasure,
  type Measure,
} from '@livetally/events';
import { MINUTE_ROLLUP, ROLLUP_DIMENSIONS, type Rollup } from './rollups';
import { FIELD_COLUMNS, columnOf } from './rows';

/**
 * The counting rule (@livetally/events COUNTING_RULE) as ClickHouse SQL over lt_events
 * rows, and every rollup's columns and view generated from it. Every
 * history, rebuild and backfill query takes its measures from here. Event types,
 * measures and columns are constants of the code, never input; they are still checked
 * to be plain names before they are spliced into SQL.
 */

const NAME = /^[a-z][A-Za-z_]*$/;
function name(text: string): string {
  if (!NAME.test(text)) throw new Error(`not a plain name, refused in SQL: ${JSON.stringify(text)}`);
  return text;
}

/** What rows add to a measure: `countIf(type = 'view')`, `sumIf(amount_fen, type = 'sale')`, summed over the types that add to it. */
export function measureSql(measure: Measure): string {
  const parts: string[] = [];
  for (const type of EVENT_TYPES) {
    for (const c of contributionsOf(type)) {
      if (c.measure !== measure) continue;
      const where = `type = '${name(type)}'`;
      parts.push(c.field === null ? `countIf(${where})` : `sumIf(${name(columnOf(c.field))}, ${where})`);
    }
  }
  return parts.length === 0 ? '0' : parts.join(' + ');
}

/** Every measure as `<sql> AS <measure>`, named as the live totals name them. */
export const MEASURE_SELECT = MEASURES.map((m) => `${measureSql(m)} AS ${name(m)}`).join(',\n  ');

/** Rows whose viewer the unique-viewer estimate counts, and the column of the id. */
export const VIEWER_ROWS = viewerRows();

function viewerRows(): { column: string; where: string } {
  const types = EVENT_TYPES.filter((t) => viewerFieldOf(t) !== null);
  const columns = new Set(types.map((t) => columnOf(viewerFieldOf(t)!)));
  if (columns.size !== 1)
    throw new Error('the counting rule must name viewers of at least one type, all in one column');
  const column = name([...columns][0]!);
  const typeWhere =
    types.length === 1 ? `type = '${name(types[0]!)}'` : `type IN (${types.map((t) => `'${name(t)}'`).join(', ')})`;
  // An event that names no viewer (a counted view) stores '' there and is no viewer.
  return { column, where: `${typeWhere} AND ${column} != ''` };
}

/** A leaderboard measure over lt_events rows. */
export function leaderboardSql(measure: LeaderboardMeasure): string {
  return measureSql(LEADERBOARD_MEASURES[measure]);
}

/** The rollup column of a measure: views, sessions_ended, sales_fen… */
export function rollupColumn(measure: Measure): string {
  return name(measure.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

/** Signed when some amount of the measure comes from a signed column (money), else unsigned. */
function rollupIntType(measure: Measure): 'Int64' | 'UInt64' {
  const signed = EVENT_TYPES.some((t) =>
    contributionsOf(t).some((c) => c.measure === measure && c.field !== null && FIELD_COLUMNS[c.field]?.signed),
  );
  return signed ? 'Int64' : 'UInt64';
}

/** The column definition a measure has in every rollup. */
export function rollupColumnDefinition(measure: Measure): string {
  return `${rollupColumn(measure)} SimpleAggregateFunction(sum, ${rollupIntType(measure)})`;
}

/** A leaderboard measure over rollup rows. */
export function leaderboardRollupSql(measure: LeaderboardMeasure): string {
  return `sum(${rollupColumn(LEADERBOARD_MEASURES[measure])})`;
}

/** Every measure summed over rollup rows, `sum(<column>) AS <measure>`. */
export const ROLLUP_SUMS = MEASURES.map((m) => `sum(${rollupColumn(m)}) AS ${m}`).join(', ');

const START_OF: Record<Rollup['grain'], string> = {
  minute: 'toStartOfMinute',
  hour: 'toStartOfHour',
  day: 'toStartOfDay',
};

/** A rollup's key: its time column, the dimensions, host_id where it keeps it. */
function rollupKey(rollup: Rollup): string[] {
  return [rollup.grain, ...ROLLUP_DIMENSIONS, ...(rollup.hostColumn ? ['host_id'] : [])];
}

/**
 * A rollup's rows from lt_events (optionally only those `where` selects): per grain
 * (ts is Asia/Shanghai time) and key, what they add to every measure, the viewers, and
 * the distinct hosts where the rollup keeps no host_id.
 */
export function rollupSelect(rollup: Rollup, where?: string): string {
  const [time, ...dimensions] = rollupKey(rollup);
  return `SELECT
  ${START_OF[rollup.grain]}(ts) AS ${time}, ${dimensions.join(', ')},
  ${MEASURES.map((m) => `to${rollupIntType(m)}(${measureSql(m)}) AS ${rollupColumn(m)}`).join(',\n  ')},
  uniqStateIf(${VIEWER_ROWS.column}, ${VIEWER_ROWS.where}) AS viewers${rollup.hostColumn ? '' : ',\n  uniqExactState(host_id) AS hosts'}
FROM lt_events${where ? `\nWHERE ${where}` : ''}
GROUP BY ${rollupKey(rollup).join(', ')}`;
}

/** The per-minute rollup's view: per minute and dimension combination, what the rows add to every measure, and the viewers. */
export const ROLLUP_VIEW_QUERY = rollupSelect(MINUTE_ROLLUP);

/** CREATE TABLE of a rollup created after the counting rule's first measures, with a column per measure of the rule. */
export function rollupTableDefinition(rollup: Rollup): string {
  const dimensions = ROLLUP_DIMENSIONS.map((d) => `${d} LowCardinality(String)`);
  return `CREATE TABLE IF NOT EXISTS ${rollup.table} (
  ${rollup.grain} DateTime('Asia/Shanghai'),
  ${[...dimensions, ...(rollup.hostColumn ? ['host_id String'] : [])].join(',\n  ')},
  ${MEASURES.map(rollupColumnDefinition).join(',\n  ')},
  viewers AggregateFunction(uniq, String)${rollup.hostColumn ? '' : ',\n  hosts AggregateFunction(uniqExact, String)'}
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(${rollup.grain})
ORDER BY (${rollupKey(rollup).join(', ')})
SETTINGS non_replicated_deduplication_window = 10000`;
}
