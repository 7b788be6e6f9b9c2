import { describe, expect, it } from 'vitest';
import { dayIndex } from './campaign-ledger';
import { meanOrderFen, SessionPlanner, type SessionPlan } from './campaign-planner';
import { DAY_MS, HOUR_MS, parseShanghaiTime } from './shanghai-time';

// Session-level properties over a week, from the sales the plan gives each session:
// thousands of sessions are cheap to plan, while their events would be tens of millions.
const FROM = parseShanghaiTime('2024-09-09');
const TO = FROM + 7 * DAY_MS;

function planWeek(planner: SessionPlanner): SessionPlan[] {
  const plans: SessionPlan[] = [];
  planner.planDay(dayIndex(FROM) - 1, false);
  for (let day = dayIndex(FROM); day < dayIndex(TO); day++) plans.push(...planner.planDay(day));
  return plans;
}

const expectedSalesFen = (p: SessionPlan) => p.pieces.reduce((s, piece) => s + piece.salesFen, 0);
const expectedOrders = (p: SessionPlan) => expectedSalesFen(p) / meanOrderFen(p);

function totalBy(plans: SessionPlan[], key: (p: SessionPlan) => string, value: (p: SessionPlan) => number): string[] {
  const m = new Map<string, number>();
  for (const p of plans) m.set(key(p), (m.get(key(p)) ?? 0) + value(p));
  return [...m].sort((a, b) => b[1] - a[1]).map(([k]) => k);
}

const distinctHostsBy = (plans: SessionPlan[], key: (p: SessionPlan) => string) => {
  const m = new Map<string, Set<string>>();
  for (const p of plans) m.set(key(p), (m.get(key(p)) ?? new Set()).add(p.host.id));
  return [...m].sort((a, b) => b[1].size - a[1].size).map(([k]) => k);
};

describe('SessionPlanner', () => {
  const national = planWeek(new SessionPlanner(5, 2e-3));
  const shenzhen = planWeek(new SessionPlanner(5, 1e-2, 'shanghai', ['Shenzhen']));

  it('ranks Shenzhen third nationally by sales, sessions and hosts', () => {
    expect(totalBy(national, (p) => p.city.profile.name, expectedSalesFen).slice(0, 4)).toEqual([
      'Hangzhou',
      'Guangzhou',
      'Shenzhen',
      'Shanghai',
    ]);
    expect(
      totalBy(
        national,
        (p) => p.city.profile.name,
        () => 1,
      ).slice(0, 4),
    ).toEqual(['Hangzhou', 'Guangzhou', 'Shenzhen', 'Shanghai']);
    expect(distinctHostsBy(national, (p) => p.city.profile.name)[2]).toBe('Shenzhen');
  });

  it("sells mostly jewellery in Luohu, Shuibei's gold at high order values", () => {
    const luohu = shenzhen.filter((p) => p.district.profile.name === 'Luohu');
    expect(totalBy(luohu, (p) => p.category, expectedSalesFen)[0]).toBe('jewellery');
    const aov = (plans: SessionPlan[]) =>
      plans.reduce((s, p) => s + expectedSalesFen(p), 0) / plans.reduce((s, p) => s + expectedOrders(p), 0);
    expect(aov(luohu)).toBeGreaterThan(1.5 * aov(shenzhen));
  });

  it("leads Shenzhen with clothing, electronics, jewellery and eyewear; Bao'an's e-commerce bases have the most hosts", () => {
    expect(
      totalBy(shenzhen, (p) => p.category, expectedSalesFen)
        .slice(0, 4)
        .sort(),
    ).toEqual(['clothing', 'electronics', 'eyewear', 'jewellery']);
    expect(distinctHostsBy(shenzhen, (p) => p.district.profile.name)[0]).toBe("Bao'an");
    expect(
      totalBy(
        shenzhen.filter((p) => p.district.profile.name === "Bao'an"),
        (p) => p.category,
        () => 1,
      )
        .slice(0, 2)
        .sort(),
    ).toEqual(['clothing', 'electronics']);
  });

  it('starts most sessions in the evening, Asia/Shanghai', () => {
    const hour = (p: SessionPlan) => new Date(p.startTs + 8 * HOUR_MS).getUTCHours();
    const at = (h: number) => national.filter((p) => hour(p) === h).length;
    expect(at(20)).toBeGreaterThan(20 * at(4));
    expect(national.every((p) => p.startTs >= FROM && p.startTs < TO && p.endTs > p.startTs)).toBe(true);
  });
});
