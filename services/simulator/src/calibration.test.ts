import { describe, expect, it } from 'vitest';
import {
  calibrate,
  categorySalesFen,
  cityDaily,
  MEAN_DURATION_MS,
  nationalDaily,
  scaleForRate,
  VIEWS_PER_SESSION,
} from './calibration';
import { CAMPAIGN_CITIES, SESSION, SHENZHEN, SHENZHEN_FACTS } from './campaign-profile';
import { dayIndex } from './campaign-ledger';
import { SessionPlanner } from './campaign-planner';
import { parseShanghaiTime } from './shanghai-time';

const FROM = parseShanghaiTime(SHENZHEN_FACTS.campaignFrom);
const TO = parseShanghaiTime(SHENZHEN_FACTS.campaignTo);
const TARGET_FEN = SHENZHEN_FACTS.campaignSalesYuan * 100;
const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k]) => k);

describe('calibration', () => {
  it('puts 40.8 billion yuan of Shenzhen sales in the 70-day campaign month at scale 1', () => {
    const c = calibrate(1, FROM, TO);
    expect(c.days).toBe(70);
    expect(c.shenzhen.salesFen / TARGET_FEN).toBeCloseTo(1, 9);
    // Sessions and views per day are the January–October averages.
    expect(c.shenzhen.sessions).toBeCloseTo((2_900_000 * 70) / 305, 3);
    expect(c.shenzhen.views).toBeCloseTo((25.4e9 * 70) / 305, -3);
    expect(calibrate(1e-4, FROM, TO).shenzhen.salesFen / (TARGET_FEN * 1e-4)).toBeCloseTo(1, 9);
  });

  it("makes the sessions planned over the whole window carry the calibration's sales, views and sessions exactly", () => {
    const scale = 0.02;
    const planner = new SessionPlanner(11, scale, 'shanghai', ['Shenzhen']);
    // The day before only for the sessions that run into the first day (their pieces on it).
    const plans = planner.planDay(dayIndex(FROM) - 1, false);
    let sessions = 0;
    for (let day = dayIndex(FROM); day < dayIndex(TO); day++) {
      const started = planner.planDay(day);
      sessions += started.length;
      plans.push(...started);
    }
    const pieces = plans.flatMap((p) => p.pieces);
    const salesFen = pieces.reduce((s, piece) => s + piece.salesFen, 0);
    const views = pieces.reduce((s, piece) => s + piece.views, 0);
    const c = calibrate(scale, FROM, TO);
    expect(salesFen).toBe(TARGET_FEN * scale);
    expect(Math.abs(views / c.shenzhen.views - 1)).toBeLessThan(1e-6);
    expect(Math.abs(sessions / c.shenzhen.sessions - 1)).toBeLessThan(1e-4);
  });

  it('ranks Shenzhen third nationally by expected sales, sessions and hosts', () => {
    const by = (f: (c: (typeof CAMPAIGN_CITIES)[number]) => number) =>
      [...CAMPAIGN_CITIES].sort((a, b) => f(b) - f(a)).map((c) => c.name);
    expect(by((c) => cityDaily(c).salesFen).slice(0, 3)).toEqual(['Hangzhou', 'Guangzhou', 'Shenzhen']);
    expect(by((c) => cityDaily(c).sessions).slice(0, 3)).toEqual(['Hangzhou', 'Guangzhou', 'Shenzhen']);
    expect(by((c) => c.factor * SHENZHEN_FACTS.hosts)[2]).toBe('Shenzhen');
  });

  it("leads Shenzhen with clothing, electronics, jewellery and eyewear; Luohu's Shuibei cluster with jewellery", () => {
    expect(top(categorySalesFen(SHENZHEN)).slice(0, 4).sort()).toEqual([
      'clothing',
      'electronics',
      'eyewear',
      'jewellery',
    ]);
    const luohu = categorySalesFen(SHENZHEN, 1, 'Luohu');
    expect(top(luohu)[0]).toBe('jewellery');
    const all = [...luohu.values()].reduce((a, b) => a + b, 0);
    expect(luohu.get('jewellery')! / all).toBeGreaterThan(0.8);
  });

  it('scales every count linearly: events ≈ (2 × sessions + 2 × view intervals + orders + refunds) × scale', () => {
    const one = nationalDaily(1);
    const s = nationalDaily(1e-5);
    expect(s.events / one.events).toBeCloseTo(1e-5, 12);
    expect(s.likes / one.likes).toBeCloseTo(1e-5, 12);
    // A view event and a like event per live minute of every session.
    const intervals = (one.sessions * MEAN_DURATION_MS) / SESSION.viewTickMs;
    expect(one.events).toBeCloseTo(2 * one.sessions + 2 * intervals + one.orders + one.refunds, 0);
    expect(one.likes / one.views).toBeGreaterThan(SESSION.likeShare);
    expect(one.views / one.sessions).toBeCloseTo(VIEWS_PER_SESSION, 6);
    expect(nationalDaily(scaleForRate(300)).events / 86_400).toBeCloseTo(300, 6);
  });
});
