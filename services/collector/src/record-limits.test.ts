import { describe, expect, it } from 'vitest';
import { RECORD_BATCH_OVERHEAD_BYTES, isTooLargeRefusal, largestStream, recordBytes } from './record-limits';

const record = (key: string, value: string) => ({ key, value: Buffer.from(value) });

describe('recordBytes', () => {
  it('counts the key, the value, headers and framing, in UTF-8 bytes', () => {
    const plain = recordBytes(record('s-1', 'abc'));
    expect(plain).toBeGreaterThan(3 + 3);
    expect(recordBytes(record('s-1', 'abcd'))).toBe(plain + 1);
    expect(recordBytes(record('直播-1', 'abc'))).toBe(plain + Buffer.byteLength('直播-1') - 3);
    expect(recordBytes({ ...record('s-1', 'abc'), headers: { origin: 'x' } })).toBeGreaterThan(
      plain + 'origin'.length + 1,
    );
  });

  it('bounds what Kafka writes: a record batch of them is never larger than the estimate', () => {
    // Kafka's own sizes for an uncompressed v2 batch of 3 records of key "stream-1" and a
    // 100-byte value: 61 bytes of batch header and 8 + 100 + 10 bytes per record.
    const records = Array.from({ length: 3 }, () => record('stream-1', 'x'.repeat(100)));
    const written = RECORD_BATCH_OVERHEAD_BYTES + 3 * (8 + 100 + 10);
    expect(RECORD_BATCH_OVERHEAD_BYTES + records.reduce((n, r) => n + recordBytes(r), 0)).toBeGreaterThanOrEqual(
      written,
    );
  });
});

describe('largestStream', () => {
  it('names the key with the most record bytes, with its batch size', () => {
    const messages = [
      record('a', 'x'.repeat(10)),
      record('b', 'x'.repeat(200)),
      record('a', 'x'.repeat(10)),
      record('a', 'x'.repeat(5)),
    ];
    expect(largestStream(messages)).toEqual({
      streamId: 'b',
      events: 1,
      bytes: RECORD_BATCH_OVERHEAD_BYTES + recordBytes(messages[1]!),
    });
    expect(largestStream([])).toBeUndefined();
  });
});

describe('isTooLargeRefusal', () => {
  const protocolError = (type: string) => Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type });

  it('recognises the broker refusing records as too large, also as the cause of a wrapping error', () => {
    expect(isTooLargeRefusal(protocolError('MESSAGE_TOO_LARGE'))).toBe(true);
    expect(isTooLargeRefusal(protocolError('RECORD_LIST_TOO_LARGE'))).toBe(true);
    expect(isTooLargeRefusal(Object.assign(new Error('wrapped'), { cause: protocolError('MESSAGE_TOO_LARGE') }))).toBe(
      true,
    );
  });

  it('leaves every other failure to the unavailable path', () => {
    for (const err of [
      protocolError('NOT_LEADER_FOR_PARTITION'),
      protocolError('NOT_ENOUGH_REPLICAS'),
      new Error('Connection error: ECONNREFUSED'),
      'MESSAGE_TOO_LARGE',
      undefined,
    ]) {
      expect(isTooLargeRefusal(err)).toBe(false);
    }
  });
});
