import type { KafkaMessage } from './batch';

/** A v2 record batch's fixed header, base offset to record count (Kafka's RECORD_BATCH_OVERHEAD). */
export const RECORD_BATCH_OVERHEAD_BYTES = 61;
// Per record: one attributes byte and varints for the length (≤ 5 bytes), timestamp delta
// (≤ 10), offset delta, key length, value length and header count (≤ 5 each).
const RECORD_FRAMING_BYTES = 36;
// A header's name and value lengths, varints of at most 5 bytes each.
const HEADER_FRAMING_BYTES = 10;

/** What a record's size depends on; headers are counted when a record carries any. */
export interface SizedRecord {
  key: string;
  value: Buffer;
  headers?: Record<string, string | Buffer>;
}

/**
 * An upper bound of the bytes one record takes in an uncompressed record batch: key,
 * value, headers and framing. The broker compares a partition's whole batch (these plus
 * RECORD_BATCH_OVERHEAD_BYTES) with the topic's max.message.bytes.
 */
export function recordBytes(record: SizedRecord): number {
  let bytes = RECORD_FRAMING_BYTES + Buffer.byteLength(record.key) + record.value.length;
  for (const [name, value] of Object.entries(record.headers ?? {}))
    bytes += HEADER_FRAMING_BYTES + Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** The stream (Kafka key) with the most record bytes among `messages`, with its batch size. */
export function largestStream(
  messages: readonly KafkaMessage[],
): { streamId: string; events: number; bytes: number } | undefined {
  const streams = new Map<string, { events: number; bytes: number }>();
  for (const m of messages) {
    const s = streams.get(m.key) ?? { events: 0, bytes: RECORD_BATCH_OVERHEAD_BYTES };
    s.events++;
    s.bytes += recordBytes(m);
    streams.set(m.key, s);
  }
  let largest: { streamId: string; events: number; bytes: number } | undefined;
  for (const [streamId, s] of streams) if (!largest || s.bytes > largest.bytes) largest = { streamId, ...s };
  return largest;
}

// The broker's answers for a record batch over max.message.bytes, or over the log segment size.
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * True when the broker refused records as too large (kafkajs raises a KafkaJSProtocolError
 * whose `type` names the broker's error code, sometimes wrapped as another error's `cause`).
 * Such a refusal is about the records, not about Kafka's health.
 */
export function isTooLargeRefusal(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if (TOO_LARGE_TYPES.has(String((current as { type?: unknown }).type))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
