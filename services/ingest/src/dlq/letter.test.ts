import { describe, expect, it } from 'vitest';
import { KEPT_ORIGINAL_BYTES, letterRecord, parkedRecord } from '../dead-letter-records';
import { headerText, positionId, readLetter, replayRefusal } from './letter';
import { LETTER_FAILED_AT, asRead, deadLetter } from './testing';

const FAILED_AT = LETTER_FAILED_AT;

describe('readLetter', () => {
  it('reads back what the worker wrote: reason, errors, origin, time and the whole original', () => {
    const value = Buffer.from('{"v":1,"type":"view"}');
    const letter = readLetter('dlq', asRead(letterRecord(deadLetter(17, value), 1, FAILED_AT), 9));
    expect(letter).toEqual({
      at: { topic: 'dlq', partition: 1, offset: '9' },
      failedAt: Date.parse(FAILED_AT),
      reason: 'out_of_range',
      step: 'validate',
      errors: deadLetter(17, value).errors,
      source: { topic: 'livetally.events', partition: 4, offset: '17' },
      value: 'original',
      bytes: value,
      key: Buffer.from('stream-1'),
      originalBytes: value.length,
      originalSha256: null,
      parked: null,
    });
    expect(replayRefusal(letter!)).toBeNull();
  });

  it('knows a cut original by its size and hash, and refuses to replay it', () => {
    const value = Buffer.alloc(KEPT_ORIGINAL_BYTES + 10, 'x');
    const letter = readLetter('dlq', asRead(letterRecord(deadLetter(3, value), 0, FAILED_AT), 0))!;
    expect(letter).toMatchObject({ value: 'truncated', originalBytes: value.length });
    expect(letter.bytes.length).toBe(KEPT_ORIGINAL_BYTES);
    expect(letter.originalSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(replayRefusal(letter)).toMatch(
      new RegExp(`first ${KEPT_ORIGINAL_BYTES} of ${value.length} bytes.*livetally.events at 4@3`),
    );
  });

  it('refuses to replay a parked letter, which has neither key nor value', () => {
    const record = parkedRecord(deadLetter(5, Buffer.from('x')), 2, FAILED_AT, 'refused as too large');
    const letter = readLetter('dlq', asRead(record, 1))!;
    expect(letter).toMatchObject({ value: 'omitted', parked: 'refused as too large', key: null });
    expect(replayRefusal(letter)).toMatch(/parked without its key and value \(refused as too large\)/);
  });

  it('takes letters from before lt-value and lt-failed-at existed as whole originals, timed by Kafka', () => {
    const record = letterRecord(deadLetter(5, Buffer.from('{}')), 0, FAILED_AT);
    const { 'lt-value': _value, 'lt-failed-at': _at, ...older } = record.headers;
    const letter = readLetter('dlq', { ...asRead(record, 0, 1_700_000_000_000), headers: older })!;
    expect(letter).toMatchObject({ value: 'original', failedAt: 1_700_000_000_000 });
  });

  it('is null for records the worker did not write: no reason, no origin, an unknown value kind', () => {
    const record = asRead(letterRecord(deadLetter(5, Buffer.from('{}')), 0, FAILED_AT), 0);
    for (const drop of ['lt-reason', 'lt-topic', 'lt-partition', 'lt-offset']) {
      const headers = { ...record.headers };
      delete headers[drop];
      expect(readLetter('dlq', { ...record, headers }), drop).toBeNull();
    }
    expect(readLetter('dlq', { ...record, headers: { ...record.headers, 'lt-value': 'zipped' } })).toBeNull();
    expect(readLetter('dlq', { ...record, headers: { ...record.headers, 'lt-offset': '-1' } })).toBeNull();
  });

  it('keeps a letter whose errors header is unreadable, without its errors', () => {
    const record = asRead(letterRecord(deadLetter(5, Buffer.from('{}')), 0, FAILED_AT), 0);
    expect(readLetter('dlq', { ...record, headers: { ...record.headers, 'lt-errors': '{oops' } })?.errors).toBeNull();
  });
});

describe('headerText and positionId', () => {
  it('decodes kafkajs headers (buffers, strings, repeated) as text', () => {
    expect(headerText({ a: Buffer.from('é'), b: 'x', c: [Buffer.from('1'), Buffer.from('2')], d: undefined })).toEqual({
      a: 'é',
      b: 'x',
      c: '1',
    });
  });

  it('names a position topic:partition:offset', () => {
    expect(positionId({ topic: 'livetally.events', partition: 3, offset: '42' })).toBe('livetally.events:3:42');
  });
});
