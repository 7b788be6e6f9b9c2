import type { LiveEvent } from '@livetally/events';

/** One row of lt_events, as inserted with JSONEachRow. */
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
    viewer_id: event.type === 'view' ? event.viewerId : '',
    order_id: event.type === 'sale' || event.type === 'refund' ? event.orderId : '',
    sku: event.type === 'sale' ? event.sku : '',
    quantity: event.type === 'sale' ? event.quantity : 0,
    amount_fen: event.type === 'sale' || event.type === 'refund' ? event.amountFen : 0,
    title: event.type === 'stream_started' ? (event.title ?? '') : '',
    topic: at.topic,
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  };
}

const SCOPE_COLUMNS: Record<string, string> = {
  city: 'city',
  district: 'district',
  category: 'category',
  platform: 'platform',
  host: 'host_id',
  stream: 'stream_id',
};

/** Scope kinds with a column of their own, in scopesOf order. */
export const SCOPE_COLUMN_KINDS: readonly string[] = Object.keys(SCOPE_COLUMNS);

/** The column a scope kind filters on; undefined for kinds without one (all, campaign). */
export function scopeColumn(kind: string): string | undefined {
  return SCOPE_COLUMNS[kind];
}
