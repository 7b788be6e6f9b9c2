import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  DLQ_HEADERS,
  KEPT_ORIGINAL_BYTES,
  isTooLarge,
  letterRecord,
  parkedRecord,
  requestBytes,
  splitBySize,
  type LetterRecord,
} from './dead-letter-records';
import type { DeadLetter } from './outcomes';

const TOPIC = 'livetally.events.dlq';
const FAILED_AT = '2024-09-01T00:00:00.000Z';

function letter(offset: number, value: Buffer | null, extra: Partial<DeadLetter> = {}): DeadLetter {
  return {
    topic: 'livetally.events',
    partition: 3,
    offset: String(offset),
    key: Buffer.from('stream-1'),
    value,
    step: 'validate',
    errors: [{ field: 'title', reason: 'too_long', message: 'title is longer than 200 characters' }],
    ...extra,
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** kafkajs's own encoder of the produce request it sends (version 7), for the real size on the wire. */
async function encodedRequestBytes(records: readonly LetterRecord[]): Promise<number> {
  const produceRequest = createRequire(import.meta.url)('kafkajs/src/protocol/requests/produce/v7/request.js') as (
    args: object,
  ) => { encode(): Promise<{ size(): number }> };
  const messages = records.map(({ key, value, headers }) => ({ key, value, headers }));
  const request = produceRequest({
    acks: -1,
    timeout: 30_000,
    transactionalId: null,
    producerEpoch: 0,
    topicData: [{ topic: TOPIC, partitions: [{ partition: 0, firstSequence: 0, messages }] }],
  });
  return (await request.encode()).size();
}

describe('letterRecord', () => {
  it('carries an original up to the largest event unchanged, with the reason and origin', () => {
    const value = Buffer.alloc(KEPT_ORIGINAL_BYTES, 'x');
    const r = letterRecord(letter(7, value), 1, FAILED_AT);
    expect(r).toMatchObject({ partition: 1, key: Buffer.from('stream-1'), value, parked: false });
    expect(r.headers).toEqual({
      [DLQ_HEADERS.reason]: 'too_long',
      [DLQ_HEADERS.errors]: JSON.stringify(letter(7, null).errors),
      [DLQ_HEADERS.step]: 'validate',
      [DLQ_HEADERS.topic]: 'livetally.events',
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '7',
      [DLQ_HEADERS.failedAt]: FAILED_AT,
      [DLQ_HEADERS.value]: 'original',
    });
  });

  it('cuts a longer original to its first bytes and says so, with its size and SHA-256', () => {
    const value = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const r = letterRecord(
      letter(8, value, {
        step: 'decode',
        errors: [{ field: '$', reason: 'oversized', message: 'message is 200000 bytes' }],
      }),
      0,
      FAILED_AT,
    );
    expect(r.value.equals(value.subarray(0, KEPT_ORIGINAL_BYTES))).toBe(true);
    expect(r.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'oversized',
      [DLQ_HEADERS.value]: 'truncated',
      [DLQ_HEADERS.originalBytes]: '200000',
      [DLQ_HEADERS.originalSha256]: sha256(value),
    });
  });

  it('sends a message without value as an empty value, not a tombstone', () => {
    expect(letterRecord(letter(9, null), 0, FAILED_AT).value).toEqual(Buffer.alloc(0));
  });
});

describe('parkedRecord', () => {
  it('keeps the offset, reason, size and hash of the original but neither its key nor its value', () => {
    const value = Buffer.alloc(5_000, 'v');
    const errors = Array.from({ length: 30 }, (_, i) => ({
      field: `f${i}`,
      reason: 'wrong_type' as const,
      message: 'm'.repeat(1_000),
    }));
    const r = parkedRecord(
      letter(10, value, { key: Buffer.alloc(100_000, 'k'), errors }),
      2,
      FAILED_AT,
      'refused by the topic',
    );
    expect(r).toMatchObject({ partition: 2, key: null, value: Buffer.alloc(0), parked: true });
    expect(r.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'wrong_type',
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '10',
      [DLQ_HEADERS.value]: 'omitted',
      [DLQ_HEADERS.originalBytes]: '5000',
      [DLQ_HEADERS.originalSha256]: sha256(value),
      [DLQ_HEADERS.parked]: 'refused by the topic',
    });
    const kept = JSON.parse(r.headers[DLQ_HEADERS.errors]!) as { field: string; message: string }[];
    expect(kept.map((e) => e.field)).toEqual(errors.slice(0, 10).map((e) => e.field));
    expect(Math.max(...kept.map((e) => e.message.length))).toBe(200);
    expect(requestBytes(TOPIC, [r])).toBeLessThan(4_096);
  });
});

describe('requestBytes', () => {
  it('is never below the size kafkajs puts on the wire', async () => {
    const cases: LetterRecord[][] = [
      [letterRecord(letter(1, Buffer.alloc(0)), 0, FAILED_AT)],
      [letterRecord(letter(1, Buffer.alloc(300_000, 'o'), { key: null }), 0, FAILED_AT)],
      Array.from({ length: 500 }, (_, i) =>
        letterRecord(letter(1_000_000_000 + i, Buffer.alloc(1_000 + i, 'x')), 0, FAILED_AT),
      ),
      [parkedRecord(letter(2, Buffer.alloc(10, 'p')), 0, FAILED_AT, 'refused')],
    ];
    for (const records of cases) {
      const estimate = requestBytes(TOPIC, records);
      const actual = await encodedRequestBytes(records);
      expect(estimate).toBeGreaterThanOrEqual(actual);
      // Still close: the widest varints of a record and its headers, not more.
      expect(estimate - actual).toBeLessThan(300 + 130 * records.length);
    }
  });
});

describe('splitBySize', () => {
  const records = (sizes: number[]) => sizes.map((s, i) => letterRecord(letter(i, Buffer.alloc(s, 'x')), 0, FAILED_AT));

  it('keeps every record once, in order, in requests within the limit', () => {
    const all = records(Array.from({ length: 3_000 }, (_, i) => 900 + (i % 200)));
    const requests = splitBySize(TOPIC, all, 64 * 1024);
    expect(requests.flat()).toEqual(all);
    expect(requests.length).toBeGreaterThan(40);
    for (const r of requests) expect(requestBytes(TOPIC, r)).toBeLessThanOrEqual(64 * 1024);
    // Greedy: each request is full enough that the next record would not have fitted.
    for (let i = 0; i < requests.length - 1; i++)
      expect(requestBytes(TOPIC, [...requests[i]!, requests[i + 1]![0]!])).toBeGreaterThan(64 * 1024);
  });

  it('sends a record larger than the limit alone, between its neighbours', () => {
    const all = records([1_000, 1_000, 1_000, 1_000]);
    all[2] = letterRecord(letter(2, Buffer.alloc(1_000, 'x'), { key: Buffer.alloc(100_000, 'k') }), 0, FAILED_AT);
    expect(splitBySize(TOPIC, all, 32 * 1024).map((r) => r.map((x) => x.letter.offset))).toEqual([
      ['0', '1'],
      ['2'],
      ['3'],
    ]);
  });

  it('makes no request for no records', () => {
    expect(splitBySize(TOPIC, [], 32 * 1024)).toEqual([]);
  });
});

describe('isTooLarge', () => {
  it('recognises Kafka refusing a message or batch as too large, also when wrapped', () => {
    const tooLarge = Object.assign(
      new KafkaJSProtocolError(
        'The request included a message larger than the max message size the server will accept',
      ),
      { type: 'MESSAGE_TOO_LARGE', code: 10 },
    );
    const listTooLarge = Object.assign(new KafkaJSProtocolError('batch too large'), {
      type: 'RECORD_LIST_TOO_LARGE',
      code: 18,
    });
    expect(isTooLarge(tooLarge)).toBe(true);
    expect(isTooLarge(listTooLarge)).toBe(true);
    expect(isTooLarge(Object.assign(new KafkaJSNonRetriableError('wrapped'), { cause: tooLarge }))).toBe(true);
  });

  it('leaves every other failure to the batch retry', () => {
    const unknownTopic = Object.assign(new KafkaJSProtocolError('unknown topic'), {
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
      code: 3,
    });
    expect(isTooLarge(unknownTopic)).toBe(false);
    expect(isTooLarge(new Error('connection closed'))).toBe(false);
    expect(isTooLarge(undefined)).toBe(false);
  });
});
