import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, type LiveEvent } from '@livetally/events';
import { CampaignGenerator } from './campaign-generator';
import { SessionPlanner } from './campaign-planner';
import { SESSION } from './campaign-profile';
import { expectedTotals, type ExpectedTotals } from './dataset';
import { DAY_MS, HOUR_MS, parseShanghaiTime, shanghaiHour } from './shanghai-time';

const FROM = parseShanghaiTime('2024-09-10');
const TO = FROM + DAY_MS;
const ranked = (totals: Map<string, ExpectedTotals>, kind: string, by: (t: ExpectedTotals) => number) =>
  [...totals]
    .filter(([s]) => s.startsWith(`${kind}:`))
    .sort((a, b) => by(b[1]) - by(a[1]))
    .map(([s]) => s.slice(kind.length + 1));

describe('CampaignGenerator', () => {
  // One day of the whole national market at 1/1000 of its real size (~600k events).
  const events = [...new CampaignGenerator({ seed: 1, scale: 1e-3, from: FROM, to: TO })];
  const totals = expectedTotals(events);

  it('is deterministic per seed', () => {
    const head = (seed: number) => new CampaignGenerator({ seed, scale: 1e-3, from: FROM, to: TO }).until(TO, 20_000);
    expect(head(1)).toEqual(events.slice(0, 20_000));
    expect(head(2).map((e) => e.ts)).not.toEqual(events.slice(0, 20_000).map((e) => e.ts));
  });

  // Checks collect problems and assert once: an expect() per event would dominate the run time.
  it('produces events the validator accepts, in time order, inside the window', () => {
    const problems: string[] = [];
    let last = FROM;
    for (const [i, e] of events.entries()) {
      if (e.ts < last || e.ts >= TO) problems.push(`${e.eventId} at ${e.ts}`);
      last = e.ts;
      if (e.type === 'view' && i % 50 !== 0) continue;
      const r = decodeEvent(encodeEvent(e), TO);
      if (!r.ok || JSON.stringify(r.event) !== JSON.stringify(e)) problems.push(`${e.eventId} does not validate`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['stream_started', 'stream_ended', 'view', 'sale', 'refund', 'like']),
    );
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  it('plays whole planned sessions: started first, realistic durations, every planned view and order, refunds of real sales', () => {
    const started = new Map<string, LiveEvent>();
    const sold = new Map<string, number>();
    const counts = new Map<string, { views: number; orders: number; endTs?: number }>();
    const problems: string[] = [];
    for (const e of events) {
      if (e.type === 'stream_started') started.set(e.streamId, e);
      const s = started.get(e.streamId);
      if (!s || s.hostId !== e.hostId || s.district !== e.district || s.category !== e.category)
        problems.push(`${e.eventId} on ${e.streamId}`);
      const c = counts.get(e.streamId) ?? { views: 0, orders: 0 };
      counts.set(e.streamId, c);
      if (e.type === 'view') c.views++;
      if (e.type === 'sale') {
        c.orders++;
        sold.set(e.orderId, e.amountFen);
      }
      if (e.type === 'refund' && sold.get(e.orderId) !== e.amountFen)
        problems.push(`refund ${e.eventId} of unknown sale ${e.orderId}`);
      if (e.type === 'stream_ended') c.endTs = e.ts;
    }
    expect(problems.slice(0, 5)).toEqual([]);
    // The generator's planner, replayed: sessions wholly inside the window carry exactly their plan.
    const planner = new SessionPlanner(1, 1e-3);
    let whole = 0;
    for (let ts = FROM - SESSION.maxDurationMs; ts < TO; ts += HOUR_MS) {
      for (const p of planner.planHour(ts)) {
        if (p.startTs <= FROM || p.endTs >= TO) continue;
        const c = counts.get(`c1-s${p.no}`);
        expect({ start: started.get(`c1-s${p.no}`)?.ts, ...c }).toEqual({
          start: p.startTs,
          views: p.views,
          orders: p.orders,
          endTs: p.endTs,
        });
        expect(p.endTs - p.startTs).toBeGreaterThanOrEqual(SESSION.minDurationMs - 1);
        expect(p.endTs - p.startTs).toBeLessThanOrEqual(SESSION.maxDurationMs + 1);
        whole++;
      }
    }
    expect(whole).toBeGreaterThan(30);
    // Sessions already live at midnight join in progress: started at the window's first instant.
    expect(events.filter((e) => e.type === 'stream_started' && e.ts === FROM).length).toBeGreaterThan(0);
  });

  it('ranks Shenzhen third nationally by GMV, sessions and hosts over a generated day', () => {
    // A day at this scale is about ten Shenzhen sessions: the sales order of the top two varies with the seed.
    expect(ranked(totals, 'city', (t) => t.salesFen)[2]).toBe('Shenzhen');
    expect(ranked(totals, 'city', (t) => t.sessions).slice(0, 4)).toEqual([
      'Hangzhou',
      'Guangzhou',
      'Shenzhen',
      'Shanghai',
    ]);
    const hosts = new Map<string, Set<string>>();
    for (const e of events) hosts.set(e.city, (hosts.get(e.city) ?? new Set()).add(e.hostId));
    expect([...hosts].sort((a, b) => b[1].size - a[1].size)[2]![0]).toBe('Shenzhen');
  });

  it('follows the Asia/Shanghai day: quiet from 03:00 to 08:00, busiest from 20:00 to 23:00', () => {
    const byHour = new Array<number>(24).fill(0);
    for (const e of events) byHour[shanghaiHour(e.ts)]!++;
    expect(byHour[21]!).toBeGreaterThan(5 * byHour[5]!);
    const peak = Math.max(...byHour);
    expect(byHour.indexOf(peak)).toBeGreaterThanOrEqual(20);
    expect(byHour.indexOf(peak)).toBeLessThanOrEqual(23);
    for (const h of [3, 4, 5, 6, 7]) expect(byHour[h]!).toBeLessThan(peak / 4);
  });

  it('skews host popularity (Zipf): the top tenth of hosts draw a third of the views', () => {
    const views = ranked(totals, 'host', (t) => t.views).map((h) => totals.get(`host:${h}`)!.views);
    const top = views.slice(0, Math.ceil(views.length / 10)).reduce((a, b) => a + b, 0);
    expect(top / views.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.3);
  });
});
