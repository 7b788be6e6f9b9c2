import { describe, expect, it } from 'vitest';
import { monthDedupBuckets } from './month-dedup';

describe('monthDedupBuckets', () => {
  it('gives the bucket counts of the A/B: 13 at scale 0.05, about 250 at scale 1 (12 partitions)', () => {
    expect(monthDedupBuckets(0.05, 12)).toBe(13);
    expect(monthDedupBuckets(1, 12)).toBe(253);
  });

  it('never goes below one bucket, and grows as partitions get fewer', () => {
    expect(monthDedupBuckets(0.0005, 12)).toBe(1);
    expect(monthDedupBuckets(1, 6)).toBe(507); // 28,373 events a partition-hour ÷ 56
  });
});
