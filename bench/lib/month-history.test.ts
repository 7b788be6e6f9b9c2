import { describe, expect, it } from 'vitest';
import type { QueryTiming } from '../scenarios/history';
import { judgeHistory, questionRangesWithin } from './month-history';
import { summarize } from './stats';

const DAY_S = 86_400;

describe('questionRangesWithin', () => {
  // Shenzhen's campaign: 2024-08-23 00:00 to 2024-11-01 00:00 Asia/Shanghai.
  const from = Date.parse('2024-08-23T00:00:00+08:00');
  const to = Date.parse('2024-11-01T00:00:00+08:00');

  it('asks about the whole 70-day month, its middle week and that week’s first day, in whole days', () => {
    const r = questionRangesWithin(from, to);
    expect(r.campaign).toEqual({ from: from / 1000, to: to / 1000 });
    expect((r.campaign.to - r.campaign.from) / DAY_S).toBe(70);
    expect(r.week.to - r.week.from).toBe(7 * DAY_S);
    expect(new Date(r.week.from * 1000).toISOString()).toBe('2024-09-22T16:00:00.000Z'); // 23 Sep 00:00 +08:00
    expect(r.day).toEqual({ from: r.week.from, to: r.week.from + DAY_S });
    expect(r.week.from).toBeGreaterThanOrEqual(r.campaign.from);
    expect(r.week.to).toBeLessThanOrEqual(r.campaign.to);
  });

  it('refuses a window without a whole week', () => {
    expect(() => questionRangesWithin(from, from + 6.5 * DAY_S * 1000)).toThrow(/6 whole day/);
  });
});

describe('judgeHistory', () => {
  const timing = (table: QueryTiming['table'], times: number[], extra: Partial<QueryTiming> = {}): QueryTiming => ({
    name: 'q',
    table,
    runs: times.length,
    rowsReturned: 1,
    ms: times.length ? summarize(times) : null,
    ...extra,
  });

  it('meets the target when every question on the rollups picked has p95 under 100 ms and the same answer', () => {
    const j = judgeHistory([
      timing('lt_rollup_minute', [150, 160, 170]), // the baseline's p95 does not decide
      timing('rollups', [10, 20, 99], { sameAnswer: true }),
      timing('rollups', [5, 6, 7], { sameAnswer: true }),
    ]);
    expect(j.worstP95Ms).toBe(99);
    expect(j.withinTarget).toBe(true);
    expect(j.answersMatch).toBe(true);
    expect(j.queries.map((q) => q.withinTarget)).toEqual([false, true, true]);
  });

  it('fails on a p95 of 100 ms, on an error, and on a different answer', () => {
    expect(judgeHistory([timing('rollups', [1, 2, 100], { sameAnswer: true })]).withinTarget).toBe(false);
    const failed = judgeHistory([timing('rollups', [], { error: 'boom' })]);
    expect(failed.withinTarget).toBe(false);
    expect(failed.worstP95Ms).toBeNull();
    expect(failed.queries[0]!.withinTarget).toBeNull();
    expect(judgeHistory([timing('rollups', [1, 2, 3], { sameAnswer: false })]).answersMatch).toBe(false);
  });

  it('does not call nothing timed a success', () => {
    expect(judgeHistory([]).withinTarget).toBe(false);
  });
});
