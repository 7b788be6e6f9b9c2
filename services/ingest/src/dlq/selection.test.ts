import { describe, expect, it } from 'vitest';
import type { Letter } from './letter';
import { readBounds, selects, type Selection } from './selection';

const T0 = Date.parse('2024-09-01T10:00:00Z');

function letter(partition: number, offset: string, reason: string, failedAt: number): Letter {
  return {
    at: { topic: 'dlq', partition, offset },
    failedAt,
    reason,
    step: 'validate',
    errors: [],
    source: { topic: 'events', partition: 0, offset: '1' },
    value: 'original',
    bytes: Buffer.from('{}'),
    key: null,
    originalBytes: 2,
    originalSha256: null,
    parked: null,
  };
}

const ALL: Selection = { reasons: null, since: null, until: null, offsets: null, limit: 10 };

describe('selects', () => {
  it('takes every letter without filters', () => {
    expect(selects(ALL, letter(0, '1', 'not_json', T0))).toBe(true);
  });

  it('filters by reason', () => {
    const s = { ...ALL, reasons: new Set(['out_of_range', 'too_long']) };
    expect(selects(s, letter(0, '1', 'out_of_range', T0))).toBe(true);
    expect(selects(s, letter(0, '1', 'not_json', T0))).toBe(false);
  });

  it('filters by time of failure: since inclusive, until exclusive', () => {
    const s = { ...ALL, since: T0, until: T0 + 1_000 };
    expect(selects(s, letter(0, '1', 'x', T0 - 1))).toBe(false);
    expect(selects(s, letter(0, '1', 'x', T0))).toBe(true);
    expect(selects(s, letter(0, '1', 'x', T0 + 999))).toBe(true);
    expect(selects(s, letter(0, '1', 'x', T0 + 1_000))).toBe(false);
  });

  it('filters by dead-letter offsets, ranges inclusive, per partition', () => {
    const s = {
      ...ALL,
      offsets: [
        { partition: 0, from: 5n, to: 7n },
        { partition: 2, from: 1n, to: 1n },
      ],
    };
    expect(['4', '5', '7', '8'].map((o) => selects(s, letter(0, o, 'x', T0)))).toEqual([false, true, true, false]);
    expect(selects(s, letter(1, '5', 'x', T0))).toBe(false);
    expect(selects(s, letter(2, '1', 'x', T0))).toBe(true);
  });

  it('needs every filter to hold', () => {
    const s = { ...ALL, reasons: new Set(['out_of_range']), offsets: [{ partition: 0, from: 5n, to: 5n }] };
    expect(selects(s, letter(0, '5', 'not_json', T0))).toBe(false);
    expect(selects(s, letter(0, '6', 'out_of_range', T0))).toBe(false);
    expect(selects(s, letter(0, '5', 'out_of_range', T0))).toBe(true);
  });
});

describe('readBounds', () => {
  it('reads a whole partition without offsets or time', () => {
    expect(readBounds(ALL, 0, { low: '3', high: '10' })).toEqual({ from: '3', to: '10' });
  });

  it('starts at the first offset written since --since', () => {
    expect(readBounds(ALL, 0, { low: '3', high: '10', timeStart: '8' })).toEqual({ from: '8', to: '10' });
    expect(readBounds(ALL, 0, { low: '3', high: '10', timeStart: '10' })).toEqual({ from: '10', to: '10' });
  });

  it('reads only the span of the partition its offsets name, and nothing of other partitions', () => {
    const s = {
      offsets: [
        { partition: 0, from: 5n, to: 6n },
        { partition: 0, from: 12n, to: 12n },
      ],
    };
    expect(readBounds(s, 0, { low: '0', high: '100' })).toEqual({ from: '5', to: '13' });
    expect(readBounds(s, 0, { low: '0', high: '10' })).toEqual({ from: '5', to: '10' });
    expect(readBounds(s, 1, { low: '0', high: '100' })).toEqual({ from: '0', to: '0' });
    // Offsets already deleted by retention, or not written yet: nothing to read.
    expect(readBounds(s, 0, { low: '20', high: '30' })).toEqual({ from: '20', to: '20' });
  });
});
