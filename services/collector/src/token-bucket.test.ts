import { describe, expect, it } from 'vitest';
import { RateLimiter, TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('starts full, refills at the rate, never beyond the burst', () => {
    const b = new TokenBucket(100, 500, 0);
    expect(b.take(500, 0)).toBe(0);
    expect(b.take(1, 0)).toBe(10); // one token takes 10 ms at 100/s
    expect(b.take(50, 250)).toBe(250); // 250 ms × 100/s = 25 tokens; 25 more need 250 ms
    expect(b.take(25, 250)).toBe(0);
    expect(b.take(600, 60_000)).toBe(1_000); // refilled to the 500 burst only: 100 missing
  });

  it('computes the wait for the missing tokens and takes nothing when refusing', () => {
    const b = new TokenBucket(100, 500, 0);
    b.take(500, 0);
    expect(b.take(50, 100)).toBe(400); // 10 there, 40 missing → 400 ms
    expect(b.take(10, 100)).toBe(0); // the refusal took nothing
    expect(b.take(1, 1_000_000)).toBe(0);
    expect(b.take(500, 1_000_000)).toBe(10); // capped at the burst: 499 left
  });

  it('does not mint tokens when the clock steps back', () => {
    const b = new TokenBucket(100, 100, 10_000);
    b.take(100, 10_000);
    expect(b.take(1, 5_000)).toBe(10);
    expect(b.take(1, 10_000)).toBe(10);
    expect(b.take(1, 10_010)).toBe(0);
  });
});

describe('RateLimiter', () => {
  it('keeps one bucket per platform', () => {
    let now = 0;
    const limiter = new RateLimiter({ eventsPerSecond: 10, burst: 20, now: () => now });
    expect(limiter.take('douyin', 20)).toEqual({ ok: true });
    expect(limiter.take('douyin', 5)).toEqual({ ok: false, retryAfterMs: 500 });
    expect(limiter.take('taobao', 20)).toEqual({ ok: true });
    now += 500;
    expect(limiter.take('douyin', 5)).toEqual({ ok: true });
  });
});
