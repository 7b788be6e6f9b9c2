import { VIEWER_ROWS } from './counting-sql';
import type { HistorySubject } from './history-queries';
import type { DerivedTable } from './rollup-fill';
import { startsShanghaiDay } from './rollups';

/**
 * ADR 0004: the distinct viewers of each Asia/Shanghai day and scope (all, each city,
 * district, category and platform), one fixed-size sketch a row: `uniqCombined(14)`, 2^14
 * cells, about 0.8% error, the precision of the live screens' HyperLogLogs. A question
 * over whole days merges one state a day (70 for a campaign month) where the rollups'
 * `uniq` states, one per day and dimension combination, took seconds at scale 1.
 */
export const VIEWER_SKETCH_KINDS = ['all', 'city', 'district', 'category', 'platform'] as const;
export type ViewerSketchKind = (typeof VIEWER_SKETCH_KINDS)[number];

/** log2 of the sketch's cells: the table's type, its view's state and the queries' merge must agree. */
const PRECISION = 14;

export const VIEWER_SKETCH_TABLE = `CREATE TABLE IF NOT EXISTS lt_viewers_day (
  day DateTime('Asia/Shanghai'),
  kind LowCardinality(String),
  value String,
  viewers AggregateFunction(uniqCombined(${PRECISION}), String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (kind, value, day)
SETTINGS non_replicated_deduplication_window = 10000`;

/** Each row names its scopes once per kind: `all` (value ''), and its city, district, category and platform. */
const SCOPES = `[('all', ''), ('city', city), ('district', district), ('category', category), ('platform', platform)]`;

export const VIEWER_SKETCHES: DerivedTable = {
  table: 'lt_viewers_day',
  view: 'lt_viewers_day_mv',
  fenced: true,
  select: (where) => `SELECT toStartOfDay(ts) AS day, scope.1 AS kind, scope.2 AS value,
  uniqCombinedState(${PRECISION})(${VIEWER_ROWS.column}) AS viewers
FROM lt_events ARRAY JOIN ${SCOPES} AS scope
WHERE ${VIEWER_ROWS.where}${where ? ` AND (${where})` : ''}
GROUP BY day, kind, value`,
};

/** The days [fromS, toS) (epoch seconds) a question's unique viewers come from in the sketches, and whose. */
export interface SketchRange {
  kind: ViewerSketchKind;
  value: string;
  fromS: number;
  toS: number;
}

/**
 * Whether a question's unique viewers can come from the sketches: a subject they keep,
 * over whole Asia/Shanghai days (a series, at day granularity in that zone). Anything else
 * (a host, campaign filters, an unaligned edge, another zone) reads the rollups' states.
 */
export function sketchRange(
  subject: HistorySubject,
  fromMs: number,
  toMs: number,
  series?: { granularity: string; timeZone: string },
): SketchRange | null {
  if (!(VIEWER_SKETCH_KINDS as readonly string[]).includes(subject.kind)) return null;
  if (series && (series.granularity !== 'day' || series.timeZone !== 'Asia/Shanghai')) return null;
  if (fromMs % 1000 !== 0 || toMs % 1000 !== 0) return null;
  const fromS = fromMs / 1000;
  const toS = toMs / 1000;
  if (fromS >= toS || !startsShanghaiDay(fromS) || !startsShanghaiDay(toS)) return null;
  const value = subject.kind === 'all' ? '' : (subject as { value: string }).value;
  return { kind: subject.kind as ViewerSketchKind, value, fromS, toS };
}

/** The estimate per day bucket (formatted as the series' buckets), or over the whole range. */
export function sketchQuery(
  range: SketchRange,
  perDay: boolean,
  bucketFormat: string,
): { query: string; params: Record<string, unknown> } {
  const where = `kind = {sk_kind:String} AND value = {sk_value:String}
    AND day >= toDateTime({sk_from:UInt32}) AND day < toDateTime({sk_to:UInt32})`;
  const params = { sk_kind: range.kind, sk_value: range.value, sk_from: range.fromS, sk_to: range.toS };
  const merged = `uniqCombinedMerge(${PRECISION})(viewers) AS uniqueViewers`;
  return {
    query: perDay
      ? `SELECT formatDateTime(toStartOfDay(toTimeZone(day, {tz:String})), ${bucketFormat}) AS bucket, ${merged} FROM lt_viewers_day WHERE ${where} GROUP BY bucket`
      : `SELECT ${merged} FROM lt_viewers_day WHERE ${where}`,
    params,
  };
}
