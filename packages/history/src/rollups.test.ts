import { describe, expect, it } from 'vitest';
import { DAY_ROLLUP, HOUR_ROLLUP, MINUTE_ROLLUP, ROLLUPS, planRollups, type RollupNeeds } from './rollups';

const DAY_START = Date.parse('2024-09-01T00:00:00+08:00');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const ANY: RollupNeeds = { host: false };

/** The plan as [table, from, to] with ISO times, for readable expectations. */
function plan(needs: RollupNeeds, from: number, to: number) {
  return planRollups(ROLLUPS, needs, from, to).map((s) => [
    s.rollup.grain,
    new Date(s.from * 1000).toISOString(),
    new Date(s.to * 1000).toISOString(),
  ]);
}

describe('planRollups', () => {
  it('reads whole Asia/Shanghai days from the day rollup', () => {
    expect(plan(ANY, DAY_START, DAY_START + 7 * DAY)).toEqual([
      ['day', '2024-08-31T16:00:00.000Z', '2024-09-07T16:00:00.000Z'],
    ]);
  });

  it('reads the unaligned edges from the hour rollup, then the minute rollup', () => {
    const from = DAY_START + 3 * HOUR + 17 * MINUTE;
    const to = DAY_START + 5 * DAY + 5 * HOUR + 42 * MINUTE;
    expect(plan(ANY, from, to)).toEqual([
      ['minute', '2024-08-31T19:17:00.000Z', '2024-08-31T20:00:00.000Z'],
      ['hour', '2024-08-31T20:00:00.000Z', '2024-09-01T16:00:00.000Z'],
      ['day', '2024-09-01T16:00:00.000Z', '2024-09-05T16:00:00.000Z'],
      ['hour', '2024-09-05T16:00:00.000Z', '2024-09-05T21:00:00.000Z'],
      ['minute', '2024-09-05T21:00:00.000Z', '2024-09-05T21:42:00.000Z'],
    ]);
  });

  it('takes the minutes starting in the range, as the minute rollup always did (to the second, rounded up)', () => {
    expect(plan(ANY, DAY_START + 30_500, DAY_START + 2 * MINUTE + 1_000)).toEqual([
      ['minute', '2024-08-31T16:01:00.000Z', '2024-08-31T16:03:00.000Z'],
    ]);
    // A range of whole hours but for a second: the minute before the hour is not in it.
    expect(plan(ANY, DAY_START - 59_000, DAY_START + HOUR)).toEqual([
      ['hour', '2024-08-31T16:00:00.000Z', '2024-08-31T17:00:00.000Z'],
    ]);
  });

  it('answers an empty or reversed range from the minute rollup', () => {
    expect(plan(ANY, DAY_START, DAY_START)).toEqual([
      ['minute', '2024-08-31T16:00:00.000Z', '2024-08-31T16:00:00.000Z'],
    ]);
    expect(planRollups(ROLLUPS, ANY, DAY_START + DAY, DAY_START)).toHaveLength(1);
  });

  it('passes over the hour rollup when the question is about hosts', () => {
    const from = DAY_START + 3 * HOUR;
    expect(plan({ host: true }, from, from + 2 * DAY).map(([grain]) => grain)).toEqual(['minute', 'day', 'minute']);
  });

  it('reads a series only from rollups whose rows fall inside one bucket in its time zone', () => {
    const from = DAY_START;
    const to = DAY_START + 3 * DAY;
    const grains = (granularity: 'minute' | 'hour' | 'day', timeZone: string) =>
      planRollups(ROLLUPS, { host: false, series: { granularity, timeZone } }, from, to).map((s) => s.rollup.grain);
    expect(grains('day', 'Asia/Shanghai')).toEqual(['day']);
    expect(grains('hour', 'Asia/Shanghai')).toEqual(['hour']);
    expect(grains('day', 'UTC')).toEqual(['hour']);
    expect(grains('hour', 'UTC')).toEqual(['hour']);
    expect(grains('minute', 'Asia/Shanghai')).toEqual(['minute']);
    // Hours that start on the half hour, or zones not known to be aligned: the minute rollup.
    expect(grains('hour', 'Asia/Kolkata')).toEqual(['minute']);
    expect(grains('day', 'America/New_York')).toEqual(['minute']);
  });

  it('uses only the rollups it is given, and refuses a list without the minute rollup last', () => {
    const from = DAY_START + 3 * HOUR;
    const grains = planRollups([DAY_ROLLUP, MINUTE_ROLLUP], ANY, from, from + 2 * DAY).map((s) => s.rollup.grain);
    expect(grains).toEqual(['minute', 'day', 'minute']);
    expect(() => planRollups([DAY_ROLLUP, HOUR_ROLLUP], ANY, from, from + DAY)).toThrow(/minute rollup/);
  });

  it('reads no day rollup before Asia/Shanghai kept +08:00 all year', () => {
    const from = Date.parse('1991-06-01T00:00:00+08:00');
    expect(plan(ANY, from, from + 3 * DAY).map(([grain]) => grain)).toEqual(['hour']);
  });
});
