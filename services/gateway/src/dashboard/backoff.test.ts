import { describe, expect, it } from 'vitest';
import { reconnectDelayMs, secondsUntil } from './backoff';

describe('reconnect backoff', () => {
  it('doubles from 0.5 s up to 10 s, scaled by a jitter of 0.5–1', () => {
    const highest = 1 - Number.EPSILON;
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => reconnectDelayMs(a, highest))).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect([0, 1, 4, 5].map((a) => reconnectDelayMs(a, 0))).toEqual([250, 500, 4000, 5000]);
    expect(reconnectDelayMs(2, 0.5)).toBe(1500);
  });

  it('stays capped however many attempts failed', () => {
    expect(reconnectDelayMs(1_100, 0.5)).toBe(7500); // 2 ** 1100 is Infinity; the cap still holds
  });

  it('counts down in whole seconds and shows at least 1 while waiting', () => {
    expect(secondsUntil(10_000, 0)).toBe(10);
    expect(secondsUntil(10_000, 1)).toBe(10);
    expect(secondsUntil(10_000, 9_001)).toBe(1);
    expect(secondsUntil(10_000, 10_500)).toBe(1);
  });
});
