import type { IHeaders } from 'kafkajs';
import type { FieldError } from '@livetally/events';
import { DLQ_HEADERS, type LetterValue } from '../dead-letter-records';

/** A record's place in Kafka. */
export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

/** A record as read from a topic, headers decoded as UTF-8 text. */
export interface ReadRecord {
  partition: number;
  offset: string;
  /** Kafka timestamp, ms since the epoch as text. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** A dead letter as the ingest worker wrote it (dead-letter-records.ts), read back. */
export interface Letter {
  /** Where the letter itself is, on the dead-letter topic. */
  at: Position;
  /** When the worker judged the original invalid (lt-failed-at, else the letter's Kafka timestamp), ms. */
  failedAt: number;
  reason: string;
  step: string;
  /** Every error of the original; null when the header is missing or unreadable. */
  errors: FieldError[] | null;
  /** Where the original was, on the events topic. */
  source: Position;
  /** `original`: `value` is the whole original; otherwise it is cut or empty. */
  value: LetterValue;
  /** The letter's value: the original bytes when `value` is `original`. */
  bytes: Buffer;
  key: Buffer | null;
  /** Size and SHA-256 of the original when the letter does not carry all of it. */
  originalBytes: number;
  originalSha256: string | null;
  /** Why the worker parked the letter without key and value. */
  parked: string | null;
}

/** Kafka headers as text (the first value of a repeated header). */
export function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const first = Array.isArray(raw) ? raw[0] : raw;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

const LETTER_VALUES: readonly string[] = ['original', 'truncated', 'omitted'] satisfies LetterValue[];

/**
 * The letter a DLQ record holds, or null for a record the ingest worker did not write
 * (no reason or origin headers). Letters written before lt-value existed carry their
 * original unchanged, as the worker then always sent it.
 */
export function readLetter(topic: string, record: ReadRecord): Letter | null {
  const h = record.headers;
  const reason = h[DLQ_HEADERS.reason];
  const sourceTopic = h[DLQ_HEADERS.topic];
  const sourcePartition = Number(h[DLQ_HEADERS.partition]);
  const sourceOffset = h[DLQ_HEADERS.offset];
  if (
    reason === undefined ||
    sourceTopic === undefined ||
    !Number.isInteger(sourcePartition) ||
    sourcePartition < 0 ||
    sourceOffset === undefined ||
    !/^\d+$/.test(sourceOffset)
  )
    return null;
  const kind = h[DLQ_HEADERS.value] ?? 'original';
  if (!LETTER_VALUES.includes(kind)) return null;
  const bytes = record.value ?? Buffer.alloc(0);
  const failedAt = Date.parse(h[DLQ_HEADERS.failedAt] ?? '');
  const originalBytes = Number(h[DLQ_HEADERS.originalBytes]);
  return {
    at: { topic, partition: record.partition, offset: record.offset },
    failedAt: Number.isNaN(failedAt) ? Number(record.timestamp) : failedAt,
    reason,
    step: h[DLQ_HEADERS.step] ?? 'unknown',
    errors: parseErrors(h[DLQ_HEADERS.errors]),
    source: { topic: sourceTopic, partition: sourcePartition, offset: sourceOffset },
    value: kind as LetterValue,
    bytes,
    key: record.key,
    originalBytes: Number.isInteger(originalBytes) && originalBytes >= 0 ? originalBytes : bytes.length,
    originalSha256: h[DLQ_HEADERS.originalSha256] ?? null,
    parked: h[DLQ_HEADERS.parked] ?? null,
  };
}

function parseErrors(raw: string | undefined): FieldError[] | null {
  if (raw === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? (parsed as FieldError[]) : null;
  } catch {
    return null;
  }
}

/** "topic:partition:offset"; Kafka topic names cannot hold a colon, so it reads back unambiguously. */
export function positionId(p: Position): string {
  return `${p.topic}:${p.partition}:${p.offset}`;
}

/** "partition@offset", as the logs and tests name an offset within one topic. */
export function shortPosition(p: Pick<Position, 'partition' | 'offset'>): string {
  return `${p.partition}@${p.offset}`;
}

/**
 * Whether the letter still holds the whole original, the only thing a replay may send:
 * a replay is byte-exact, never a reconstruction.
 */
export function replayRefusal(letter: Letter): string | null {
  if (letter.value === 'truncated')
    return `holds only the first ${letter.bytes.length} of ${letter.originalBytes} bytes (sha256 ${letter.originalSha256 ?? '?'}); the whole message is on ${letter.source.topic} at ${shortPosition(letter.source)} while retention lasts`;
  if (letter.value === 'omitted')
    return `was parked without its key and value (${letter.parked ?? 'no reason given'}); the message is on ${letter.source.topic} at ${shortPosition(letter.source)} while retention lasts`;
  return null;
}
