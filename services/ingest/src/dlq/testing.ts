/** Letters for the dlq unit tests: what a worker hands the publisher, and its record read back. */
import type { LetterRecord } from '../dead-letter-records';
import type { DeadLetter } from '../outcomes';
import type { ReadRecord } from './letter';

export const LETTER_FAILED_AT = '2024-09-01T10:00:00.000Z';

export function deadLetter(offset: number, value: Buffer, extra: Partial<DeadLetter> = {}): DeadLetter {
  return {
    topic: 'livetally.events',
    partition: 4,
    offset: String(offset),
    key: Buffer.from('stream-1'),
    value,
    step: 'validate',
    errors: [{ field: 'ts', reason: 'out_of_range', message: 'ts must be between …' }],
    ...extra,
  };
}

/** The record a worker's letter becomes once read back from the DLQ at `offset`. */
export function asRead(record: LetterRecord, offset: number, timestamp = Date.parse(LETTER_FAILED_AT) + 5): ReadRecord {
  return {
    partition: record.partition,
    offset: String(offset),
    timestamp: String(timestamp),
    key: record.key,
    value: record.value,
    headers: record.headers,
  };
}
