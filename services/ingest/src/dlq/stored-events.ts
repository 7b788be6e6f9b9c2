import type { ClickHouseClient } from '@clickhouse/client';
import type { Position } from './letter';

/** What the workers' resend deduplication takes as one event: platform, eventId and the hour of its time. */
export interface EventKey {
  platform: string;
  eventId: string;
  ts: number;
}

const HOUR_MS = 3_600_000;
// Event ids per query: the rows are found through the table's order (type, ts, platform, event_id) within the hours asked.
const IDS_PER_QUERY = 1_000;

/** The key of an original that parses as an event with a platform, an eventId and an integer time; else null (it cannot count). */
export function eventKeyOf(bytes: Buffer): EventKey | null {
  try {
    const e = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof e !== 'object' || e === null) return null;
    const { platform, eventId, ts } = e;
    return typeof platform === 'string' && typeof eventId === 'string' && Number.isSafeInteger(ts)
      ? { platform, eventId, ts: ts as number }
      : null;
  } catch {
    return null;
  }
}

export function sameEvent(k: EventKey): string {
  return `${k.platform}\u0000${k.eventId}\u0000${Math.floor(k.ts / HOUR_MS)}`;
}

/**
 * Where ClickHouse already stores each of these events (as the workers' deduplication
 * judges sameness) on `topic`: a platform's own resend that was counted. Replaying such
 * an original would count it twice once its fingerprint has left the dedup window.
 */
export async function storedEvents(
  clickhouse: ClickHouseClient,
  topic: string,
  keys: readonly EventKey[],
): Promise<Map<string, Position>> {
  const found = new Map<string, Position>();
  const wanted = new Set(keys.map(sameEvent));
  for (let i = 0; i < keys.length; i += IDS_PER_QUERY) {
    const batch = keys.slice(i, i + IDS_PER_QUERY);
    const hours = batch.map((k) => Math.floor(k.ts / HOUR_MS));
    const rs = await clickhouse.query({
      query: `SELECT platform, event_id, toString(toUnixTimestamp64Milli(ts)) AS ts_ms, kafka_partition AS partition_n, toString(kafka_offset) AS offset_text
        FROM lt_events
        WHERE topic = {topic:String}
          AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
          AND event_id IN {ids:Array(String)}`,
      query_params: {
        topic,
        from: Math.min(...hours) * HOUR_MS,
        to: (Math.max(...hours) + 1) * HOUR_MS,
        ids: [...new Set(batch.map((k) => k.eventId))],
      },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{
      platform: string;
      event_id: string;
      ts_ms: string;
      partition_n: number;
      offset_text: string;
    }>();
    for (const r of rows) {
      const key = sameEvent({ platform: r.platform, eventId: r.event_id, ts: Number(r.ts_ms) });
      if (wanted.has(key) && !found.has(key))
        found.set(key, { topic, partition: Number(r.partition_n), offset: r.offset_text });
    }
  }
  return found;
}
