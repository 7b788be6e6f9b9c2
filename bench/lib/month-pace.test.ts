import { describe, expect, it } from 'vitest';
import { monthEta } from './month-pace';

describe('monthEta', () => {
  it('extrapolates the average pace so far to the planned events', () => {
    // 11,156,000 of ≈ 286 M events in 443 s (the scale-1 run of 2026-12-07 on the 2-core AMD EPYC).
    expect(monthEta(11_156_000, 286e6, 443)).toBe(
      '; at this pace the month ends in ≈ 3 h 02 min (≈ 3 h 09 min in all)',
    );
    expect(monthEta(1_000, 2_000, 60)).toBe('; at this pace the month ends in ≈ 1 min (≈ 2 min in all)');
    expect(monthEta(1_000, 1_010, 60)).toBe('; at this pace the month ends in under a minute (≈ 1 min in all)');
  });

  it('says nothing before the first event or once the plan is reached', () => {
    expect(monthEta(0, 286e6, 10)).toBe('');
    expect(monthEta(5, 286e6, 0)).toBe('');
    expect(monthEta(300e6, 286e6, 3600)).toBe('');
  });
});
