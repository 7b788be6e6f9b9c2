import { describe, expect, it } from 'vitest';
import { GIB } from './footprint';
import { estimateMonthDisk, MONTH_RETENTION_BYTES, MONTH_SEGMENT_BYTES } from './month-disk';

describe('estimateMonthDisk', () => {
  it('bounds Kafka by retention at scale 1 and fits the month in well under the free disk', () => {
    const e = estimateMonthDisk(286e6, 12);
    expect(e.kafkaBytes).toBeLessThan(286e6 * 210); // the whole topic would be ~60 GB
    expect(e.kafkaBytes).toBeGreaterThanOrEqual(12 * (MONTH_RETENTION_BYTES + MONTH_SEGMENT_BYTES));
    expect(e.clickhouseBytes).toBe(286e6 * 32);
    // Redis's directory peaked at 22.3 GB two thirds of the way through the month at scale 1.
    expect(e.redisAofBytes / 1e9).toBeGreaterThan((22.3 * 286) / 184);
    expect(e.totalBytes / GIB).toBeLessThan(70);
  });

  it('counts a small run by its events, not by the retention bound', () => {
    const e = estimateMonthDisk(290_000, 12);
    expect(e.kafkaBytes).toBe(290_000 * 260);
    expect(e.totalBytes).toBe(e.kafkaBytes + e.clickhouseBytes + e.redisAofBytes + e.marginBytes);
  });
});
