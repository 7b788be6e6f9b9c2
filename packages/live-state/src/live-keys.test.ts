import { describe, expect, it } from 'vitest';
import { MINUTE_BUCKET_TTL_SECONDS, bucketsExpireBefore, minuteBucketTtl, minuteOf } from './live-keys';

const T = Date.UTC(2024, 7, 23, 12, 30);

describe('minute bucket times', () => {
  it('puts a time in the bucket of the minute it falls in', () => {
    expect(minuteOf(T)).toBe(T);
    expect(minuteOf(T + 59_999)).toBe(T);
    expect(minuteOf(T + 60_000)).toBe(T + 60_000);
  });

  it('expires a bucket a fixed time after its minute, whenever it is written', () => {
    expect(minuteBucketTtl(T, T)).toBe(MINUTE_BUCKET_TTL_SECONDS);
    expect(minuteBucketTtl(T, T + 90_500)).toBe(MINUTE_BUCKET_TTL_SECONDS - 90);
    expect(minuteBucketTtl(T + 60_000, T)).toBe(MINUTE_BUCKET_TTL_SECONDS + 60);
  });

  it('gives a bucket at or past its expiry one second, never zero or less', () => {
    expect(minuteBucketTtl(T, T + MINUTE_BUCKET_TTL_SECONDS * 1000)).toBe(1);
    expect(minuteBucketTtl(T, T + MINUTE_BUCKET_TTL_SECONDS * 1000 + 5_000)).toBe(1);
  });

  it('counts buckets older than the TTL as expired', () => {
    const now = T + MINUTE_BUCKET_TTL_SECONDS * 1000;
    expect(bucketsExpireBefore(now)).toBe(T);
  });
});
