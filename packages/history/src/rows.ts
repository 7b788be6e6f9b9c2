import { DIMENSION_FIELDS, DIMENSION_KINDS, type LiveEvent } from '@livetally/events';

/** One row of lt_events, as inserted (TabSeparated, see encodeRowsTsv; JSONEachRow as a fallback). */
export interface EventRow {
  event_id: string;
  platform: string;
  type: string;
  stream_id: string;
  host_id: string;
  ts: number;
  city: string;
  district: string;
  category: string;
  viewer_id: string;
  order_id: string;
  sku: string;
  quantity: number;
  amount_fen: number;
  /** How many the row stands for: a view's views, a like's likes; 1 for every other row (the column's default). */
  count: number;
  title: string;
  topic: string;
  kafka_partition: number;
  kafka_offset: string;
}

export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}

export function toEventRow(event: LiveEvent, at: KafkaPosition): EventRow {
  return {
    event_id: event.eventId,
    platform: event.platform,
    type: event.type,
    stream_id: event.streamId,
    host_id: event.hostId,
    ts: event.ts,
    city: event.city,
    district: event.district,
    category: event.category,
    viewer_id: event.type === 'view' ? (event.viewerId ?? '') : '',
    order_id: event.type === 'sale' || event.type === 'refund' ? event.orderId : '',
    sku: event.type === 'sale' ? event.sku : '',
    quantity: event.type === 'sale' ? event.quantity : 0,
    amount_fen: event.type === 'sale' || event.type === 'refund' ? event.amountFen : 0,
    count: event.type === 'view' || event.type === 'like' ? (event.count ?? 1) : 1,
    title: event.type === 'stream_started' ? (event.title ?? '') : '',
    topic: at.topic,
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  };
}

/** The inserted columns, in EventRow order (ingested_at takes its default). */
export const EVENT_ROW_COLUMNS = [
  'event_id',
  'platform',
  'type',
  'stream_id',
  'host_id',
  'ts',
  'city',
  'district',
  'category',
  'viewer_id',
  'order_id',
  'sku',
  'quantity',
  'amount_fen',
  'count',
  'title',
  'topic',
  'kafka_partition',
  'kafka_offset',
] as const satisfies readonly (keyof EventRow)[];

// Characters TabSeparated must escape, and their escapes (ClickHouse's TSV rules).
const TSV_SPECIAL = /[\\\t\n\r\0\b\f]/;
const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};
const TSV_SPECIAL_ALL = new RegExp(TSV_SPECIAL.source, 'g');

function tsvText(s: string): string {
  return TSV_SPECIAL.test(s) ? s.replace(TSV_SPECIAL_ALL, (c) => TSV_ESCAPES[c]!) : s;
}

const DIGITS = /^(0|[1-9][0-9]{0,19})$/;

/**
 * ms since the epoch as "seconds.mmm", which a DateTime64(3) column parses exactly
 * (as JSONEachRow's integer milliseconds); null for values outside plain positive ms.
 */
function tsText(ms: number): string | null {
  if (!Number.isSafeInteger(ms) || ms < 1_000_000 || ms >= 10_000_000_000_000) return null;
  const seconds = Math.floor(ms / 1000);
  const frac = ms - seconds * 1000;
  return `${seconds}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

const intText = (n: number): string | null => (Number.isSafeInteger(n) ? String(n) : null);

/**
 * The rows as a TabSeparated body in EVENT_ROW_COLUMNS order (then `extraColumn`'s value, already TSV text): a third of JSONEachRow's
 * size and cheaper to produce and to parse. Every value keeps its exact meaning
 * (integers as integer text, event time as seconds.mmm, strings escaped); null when
 * some value has no exact TabSeparated form here (the caller then uses JSONEachRow).
 */
export function encodeRowsTsv(rows: readonly EventRow[], extraColumn?: (index: number) => string): string | null {
  let out = '';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const ts = tsText(r.ts);
    const quantity = intText(r.quantity);
    const amount = intText(r.amount_fen);
    const count = intText(r.count);
    const partition = intText(r.kafka_partition);
    if (
      ts === null ||
      quantity === null ||
      amount === null ||
      count === null ||
      partition === null ||
      !DIGITS.test(r.kafka_offset)
    )
      return null;
    out +=
      `${tsvText(r.event_id)}\t${tsvText(r.platform)}\t${tsvText(r.type)}\t${tsvText(r.stream_id)}\t${tsvText(r.host_id)}\t${ts}\t` +
      `${tsvText(r.city)}\t${tsvText(r.district)}\t${tsvText(r.category)}\t${tsvText(r.viewer_id)}\t${tsvText(r.order_id)}\t` +
      `${tsvText(r.sku)}\t${quantity}\t${amount}\t${count}\t${tsvText(r.title)}\t${tsvText(r.topic)}\t${partition}\t${r.kafka_offset}` +
      (extraColumn ? `\t${extraColumn(i)}\n` : '\n');
  }
  return out;
}

/**
 * The lt_events column holding each event field that counting reads: the dimension
 * fields scopes come from, the fields amounts come from, and viewer ids (toEventRow
 * writes them there; a unit test holds the two together).
 */
export const FIELD_COLUMNS: Readonly<Record<string, { column: string; signed: boolean }>> = {
  city: { column: 'city', signed: false },
  district: { column: 'district', signed: false },
  category: { column: 'category', signed: false },
  platform: { column: 'platform', signed: false },
  hostId: { column: 'host_id', signed: false },
  streamId: { column: 'stream_id', signed: false },
  viewerId: { column: 'viewer_id', signed: false },
  quantity: { column: 'quantity', signed: false },
  // How many an event stands for: a view's views, a like's likes (DEFAULT 1: rows before the column count one).
  count: { column: 'count', signed: false },
  amountFen: { column: 'amount_fen', signed: true },
};

/** The lt_events column of an event field; throws for a field no column holds (a counting rule that reads it cannot be queried). */
export function columnOf(field: string): string {
  const c = FIELD_COLUMNS[field];
  if (!c)
    throw new Error(`no lt_events column holds the event field ${JSON.stringify(field)}: add it to FIELD_COLUMNS`);
  return c.column;
}

const SCOPE_COLUMNS: Record<string, string> = Object.fromEntries(
  DIMENSION_KINDS.map((kind) => [kind, columnOf(DIMENSION_FIELDS[kind])]),
);

/** Scope kinds with a column of their own, in scopesOf order. */
export const SCOPE_COLUMN_KINDS: readonly string[] = Object.keys(SCOPE_COLUMNS);

/** The column a scope kind filters on; undefined for kinds without one (all, campaign). */
export function scopeColumn(kind: string): string | undefined {
  return SCOPE_COLUMNS[kind];
}
