import { describe, expect, it } from 'vitest';
import { rolledBackPartitions } from './rolled-back';

describe('rolledBackPartitions', () => {
  const durable = new Map([
    [0, '99'],
    [1, '99'],
    [2, '-1'],
  ]);

  it('names a partition whose commit is past the offset after the durable one, to be read from there', () => {
    const committed = new Map([
      [0, '100'],
      [1, '250'],
      [2, '7'],
    ]);
    expect(rolledBackPartitions([0, 1, 2], committed, durable)).toEqual([
      { partition: 1, from: '100', committed: '250' },
      { partition: 2, from: '0', committed: '7' },
    ]);
  });

  it('leaves commits behind or at the durable offset, unknown commits and partitions without a durable offset', () => {
    const committed = new Map([
      [0, '40'],
      [1, '100'],
      [3, '500'],
    ]);
    expect(rolledBackPartitions([0, 1, 2, 3], committed, durable)).toEqual([]);
  });

  it('looks only at the assigned partitions and compares offsets past 2^53 exactly', () => {
    const big = new Map([[5, '9007199254740993']]);
    expect(rolledBackPartitions([5], new Map([[5, '9007199254740995']]), big)).toEqual([
      { partition: 5, from: '9007199254740994', committed: '9007199254740995' },
    ]);
    expect(rolledBackPartitions([5], new Map([[5, '9007199254740994']]), big)).toEqual([]);
    expect(rolledBackPartitions([], new Map([[5, '9007199254740995']]), big)).toEqual([]);
  });
});
