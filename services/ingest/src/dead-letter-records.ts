import { createHash } from 'node:crypto';
import { LIMITS } from '@livetally/events';
import type { DeadLetter } from './outcomes';

/** Header names a DLQ consumer can rely on. */
export const DLQ_HEADERS = {
  reason: 'lt-reason',
  errors: 'lt-errors',
  step: 'lt-step',
  topic: 'lt-topic',
  partition: 'lt-partition',
  offset: 'lt-offset',
  failedAt: 'lt-failed-at',
  /** How the value relates to the original message: see LetterValue. */
  value: 'lt-value',
  /** Size and SHA-256 (hex) of the original value, when the letter does not carry all of it. */
  originalBytes: 'lt-original-bytes',
  originalSha256: 'lt-original-sha256',
  /** Why a parked letter carries neither the original key nor value. */
  parked: 'lt-parked',
} as const;

/** `original`: the value is the message's value; `truncated`: its first bytes; `omitted`: none of it (parked). */
export type LetterValue = 'original' | 'truncated' | 'omitted';

/**
 * An original longer than the largest event the pipeline accepts (LIMITS.maxEventBytes) is
 * rejected as oversized whatever it holds; its first bytes, size and hash are enough to
 * recognise it, and the whole message stays on the source topic while retention lasts.
 */
export const KEPT_ORIGINAL_BYTES = LIMITS.maxEventBytes;

/** One message for the DLQ topic, with the partition it goes to. */
export interface LetterRecord {
  partition: number;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
  /** The letter it stands for, to park it if the topic refuses this record. */
  letter: DeadLetter;
  parked: boolean;
}

// Kafka record batch v2: per record its length, attributes, timestamp and offset deltas,
// key and value lengths and header count (varints counted at their widest), per header
// two lengths; per request the produce request and record batch headers.
const RECORD_OVERHEAD = 40;
const HEADER_OVERHEAD = 10;
const REQUEST_OVERHEAD = 256;
const PARKED_ERRORS = 10;
const PARKED_ERROR_MESSAGE_CHARS = 200;

function sha256(value: Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

function commonHeaders(letter: DeadLetter, failedAt: string, errors: DeadLetter['errors']): Record<string, string> {
  return {
    [DLQ_HEADERS.reason]: letter.errors[0]?.reason ?? 'unknown',
    [DLQ_HEADERS.errors]: JSON.stringify(errors),
    [DLQ_HEADERS.step]: letter.step,
    [DLQ_HEADERS.topic]: letter.topic,
    [DLQ_HEADERS.partition]: String(letter.partition),
    [DLQ_HEADERS.offset]: letter.offset,
    [DLQ_HEADERS.failedAt]: failedAt,
  };
}

function originalHeaders(value: Buffer, kind: LetterValue): Record<string, string> {
  return {
    [DLQ_HEADERS.value]: kind,
    [DLQ_HEADERS.originalBytes]: String(value.length),
    [DLQ_HEADERS.originalSha256]: sha256(value),
  };
}

/** The letter with its original key and value, the value cut to `keptBytes` (with size and hash) when longer. */
export function letterRecord(
  letter: DeadLetter,
  partition: number,
  failedAt: string,
  keptBytes = KEPT_ORIGINAL_BYTES,
): LetterRecord {
  const original = letter.value ?? Buffer.alloc(0);
  const truncated = original.length > keptBytes;
  return {
    partition,
    key: letter.key,
    value: truncated ? original.subarray(0, keptBytes) : original,
    headers: {
      ...commonHeaders(letter, failedAt, letter.errors),
      ...(truncated ? originalHeaders(original, 'truncated') : { [DLQ_HEADERS.value]: 'original' }),
    },
    letter,
    parked: false,
  };
}

/**
 * The smallest letter that still names the offset and why it failed: no key, an empty
 * value (not null: a tombstone on a compacted topic), the original's size and hash, the
 * first errors with short messages, and `why` it was parked.
 */
export function parkedRecord(letter: DeadLetter, partition: number, failedAt: string, why: string): LetterRecord {
  const errors = letter.errors
    .slice(0, PARKED_ERRORS)
    .map((e) => ({ ...e, message: e.message.slice(0, PARKED_ERROR_MESSAGE_CHARS) }));
  return {
    partition,
    key: null,
    value: Buffer.alloc(0),
    headers: {
      ...commonHeaders(letter, failedAt, errors),
      ...originalHeaders(letter.value ?? Buffer.alloc(0), 'omitted'),
      [DLQ_HEADERS.parked]: why,
    },
    letter,
    parked: true,
  };
}

/** What a record's size on the wire depends on. */
export type SizedRecord = Pick<LetterRecord, 'key' | 'value' | 'headers'>;

/** An upper bound of the record's size on the wire. */
export function recordBytes(record: SizedRecord): number {
  let bytes = RECORD_OVERHEAD + (record.key?.length ?? 0) + record.value.length;
  for (const [name, value] of Object.entries(record.headers))
    bytes += HEADER_OVERHEAD + Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** An upper bound of the size of one produce request carrying `records` to `topic`. */
export function requestBytes(topic: string, records: readonly SizedRecord[]): number {
  return records.reduce((sum, r) => sum + recordBytes(r), REQUEST_OVERHEAD + Buffer.byteLength(topic));
}

/**
 * Consecutive groups of records, in order, each one request of at most `maxBytes`; a
 * record too large for any request travels alone (the caller parks it if refused).
 */
export function splitBySize<R extends SizedRecord>(topic: string, records: readonly R[], maxBytes: number): R[][] {
  const budget = maxBytes - REQUEST_OVERHEAD - Buffer.byteLength(topic);
  const out: R[][] = [];
  let current: R[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (current.length > 0 && bytes + size > budget) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** True when Kafka refused a request because a message or batch in it is too large; such a request never succeeds as it is. */
export function isTooLarge(err: unknown): boolean {
  for (
    let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}
