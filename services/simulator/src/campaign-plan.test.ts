import { describe, expect, it } from 'vitest';
import { SHENZHEN_FACTS } from './campaign-profile';
import { describePlan, rankOf, summarisePlan } from './campaign-plan';
import { SessionPlanner } from './campaign-planner';
import { dayIndex } from './campaign-ledger';
import { DAY_MS, parseShanghaiTime } from './shanghai-time';

const CAMPAIGN_FROM = parseShanghaiTime(SHENZHEN_FACTS.campaignFrom);
const CAMPAIGN_TO = parseShanghaiTime(SHENZHEN_FACTS.campaignTo);
const JAN_1 = parseShanghaiTime('2024-01-01');

describe('the campaign plan at scale 1', () => {
  it('puts exactly 40.8 billion yuan of Shenzhen sales in the campaign month', () => {
    const plan = summarisePlan(42, 1, CAMPAIGN_FROM, CAMPAIGN_TO, 'shanghai', ['Shenzhen']);
    expect(plan.cities).toHaveLength(1);
    expect(plan.wholeDays).toBe(true);
    // A window that cuts a day is planned as the whole days it touches, and says so.
    expect(summarisePlan(42, 1, CAMPAIGN_FROM + 3_600_000, CAMPAIGN_TO, 'shanghai', ['Shenzhen'])).toMatchObject({
      wholeDays: false,
      cities: [{ salesFen: 40_800_000_000 * 100 }],
    });
    expect(plan.cities[0]!.salesFen).toBe(40_800_000_000 * 100);
    // The January–October rates over the month's 70 days, whole.
    expect(plan.cities[0]!.sessions).toBe(2_900_000 - Math.floor((235 * 2_900_000) / 305));
    expect(plan.cities[0]!.sessions).toBe(665_574);
    expect(plan.cities[0]!.views).toBe(5_829_508_197);
    expect(describePlan(plan)[1]).toContain('Shenzhen: sales 40,800,000,000 yuan');
  });

  it('reproduces January–October: 167.8 billion yuan, 2.9 million sessions, 25.4 billion views, 16,000 hosts, third by sessions, sales and hosts', () => {
    const plan = summarisePlan(42, 1, JAN_1, CAMPAIGN_TO);
    const sz = plan.cities.find((c) => c.city === 'Shenzhen')!;
    expect(sz).toEqual({
      city: 'Shenzhen',
      salesFen: 167_800_000_000 * 100,
      sessions: 2_900_000,
      views: 25_400_000_000,
      hosts: 16_000,
    });
    expect(rankOf(plan, 'Shenzhen', (c) => c.sessions)).toBe(3);
    expect(rankOf(plan, 'Shenzhen', (c) => c.salesFen)).toBe(3);
    expect(rankOf(plan, 'Shenzhen', (c) => c.hosts)).toBe(3);
  }, 60_000);

  it('shares each day exactly: the sessions running on a day carry its views and sales to the fen', () => {
    const planner = new SessionPlanner(7, 1, 'shanghai', ['Shenzhen']);
    const day = dayIndex(parseShanghaiTime('2024-09-21'));
    const before = planner.planDay(day - 1, false);
    const started = planner.planDay(day);
    const ledger = planner.ledgers.find((l) => l.city.name === 'Shenzhen')!.day(day);
    expect(started).toHaveLength(ledger.sessions);
    const pieces = [...before, ...started].flatMap((p) => p.pieces);
    expect(pieces.reduce((s, p) => s + p.views, 0)).toBe(ledger.views);
    expect(pieces.reduce((s, p) => s + p.salesFen, 0)).toBe(ledger.salesFen);
    expect(pieces.every((p) => p.views >= 0 && p.salesFen >= 0 && p.to - p.from <= DAY_MS)).toBe(true);
    expect(before.some((p) => p.pieces.length === 1)).toBe(true);
  });
});
