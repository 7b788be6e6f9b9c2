import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelayMs } from './backoff';

describe('retryDelayMs', () => {
  it('draws from [0, min(max, base·2^(attempt-1)))', () => {
    const o = { baseMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 50].map((a) => retryDelayMs(a, o, () => 0.999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(retryDelayMs(3, o, () => 0)).toBe(0);
  });

  it('waits at least Retry-After, plus up to one base of jitter', () => {
    expect(retryDelayMs(1, { baseMs: 100, maxMs: 1_000 }, () => 0.5, 5_000)).toBe(5_050);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter(new Date(now + 7_000).toUTCString(), now)).toBe(7_000);
    expect(parseRetryAfter(new Date(now - 7_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
