import { describe, expect, it } from 'vitest';
import { sameAnswer } from './answers';

const totals = (views: number, uniqueViewers: number) => JSON.stringify({ views, uniqueViewers, activeHosts: 3 });

describe('sameAnswer', () => {
  it('wants the very same answer where the rollups answered everything', () => {
    expect(sameAnswer(totals(10, 5), totals(10, 5), false)).toBe(true);
    expect(sameAnswer(totals(10, 5), totals(10, 6), false)).toBe(false);
    expect(sameAnswer(undefined, totals(10, 5), false)).toBe(false);
  });

  it('lets the sketches’ viewers differ within the estimates’ error, never the sums', () => {
    expect(sameAnswer(totals(10, 100_000), totals(10, 102_000), true)).toBe(true);
    expect(sameAnswer(totals(10, 100_000), totals(10, 104_000), true)).toBe(false);
    expect(sameAnswer(totals(10, 5), totals(10, 7), true)).toBe(true);
    expect(sameAnswer(totals(10, 5), totals(11, 5), true)).toBe(false);
    const series = (v: number[]) => JSON.stringify(v.map((u, i) => ({ bucket: `d${i}`, uniqueViewers: u })));
    expect(sameAnswer(series([1_000, 2_000]), series([1_010, 1_990]), true)).toBe(true);
    expect(sameAnswer(series([1_000, 2_000]), series([1_010]), true)).toBe(false);
  });
});
