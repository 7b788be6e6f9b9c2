import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, type LiveEvent } from '@livetally/events';
import { dayIndex } from './campaign-ledger';
import { CampaignGenerator } from './campaign-generator';
import { SESSION } from './campaign-profile';
import { expectedTotals, type ExpectedTotals } from './dataset';
import { DAY_MS, parseShanghaiTime, shanghaiHour } from './shanghai-time';

const FROM = parseShanghaiTime('2024-09-10');
const TO = FROM + DAY_MS;
const SCALE = 1e-2;
const ranked = (totals: Map<string, ExpectedTotals>, kind: string, by: (t: ExpectedTotals) => number) =>
  [...totals]
    .filter(([s]) => s.startsWith(`${kind}:`))
    .sort((a, b) => by(b[1]) - by(a[1]))
    .map(([s]) => s.slice(kind.length + 1));

describe('CampaignGenerator', () => {
  // One day of the whole national market at 1/100 of its real size (~400k events).
  const generator = new CampaignGenerator({ seed: 1, scale: SCALE, from: FROM, to: TO });
  const events = [...generator];
  const totals = expectedTotals(events);

  it('is deterministic per seed', () => {
    const head = (seed: number) => new CampaignGenerator({ seed, scale: SCALE, from: FROM, to: TO }).until(TO, 20_000);
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
      // A sample of every type (decoding ~400,000 events would dominate the run time).
      if (i % (e.type === 'view' || e.type === 'like' ? 50 : 5) !== 0) continue;
      const r = decodeEvent(encodeEvent(e), TO);
      if (!r.ok || JSON.stringify(r.event) !== JSON.stringify(e)) problems.push(`${e.eventId} does not validate`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['stream_started', 'stream_ended', 'view', 'sale', 'refund', 'like']),
    );
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  }, 30_000);

  it("sums to the plan exactly: every city's sessions, views and sales of the day are the ledger's", () => {
    const day = dayIndex(FROM);
    for (const [i, city] of generator.market.entries()) {
      const plan = generator.planner.ledgers[i]!.day(day);
      const got = totals.get(`city:${city.profile.name}`)!;
      expect({ city: city.profile.name, sessions: got.sessions, views: got.views, salesFen: got.salesFen }).toEqual({
        city: city.profile.name,
        ...plan,
      });
    }
  });

  it('reports views as one count per stream and interval, orders one by one, refunds of real sales', () => {
    const problems: string[] = [];
    const lastView = new Map<string, number>();
    const sold = new Map<string, number>();
    const started = new Map<string, LiveEvent>();
    for (const e of events) {
      if (e.type === 'stream_started') started.set(e.streamId, e);
      const s = started.get(e.streamId);
      if (s && (s.hostId !== e.hostId || s.district !== e.district || s.category !== e.category))
        problems.push(`${e.eventId} on ${e.streamId}`);
      if (e.type === 'view') {
        const prev = lastView.get(e.streamId);
        if (!(e.count! >= 1) || e.count! > 1_000_000 || !e.viewerId) problems.push(`count of ${e.eventId}`);
        if (prev !== undefined && e.ts - prev < SESSION.viewTickMs) problems.push(`${e.eventId} within a minute`);
        lastView.set(e.streamId, e.ts);
      }
      if (e.type === 'sale') {
        if (sold.has(e.orderId) || !(e.amountFen >= 1)) problems.push(`sale ${e.eventId}`);
        sold.set(e.orderId, e.amountFen);
      }
      if (e.type === 'refund' && sold.get(e.orderId) !== e.amountFen) problems.push(`refund ${e.eventId}`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    const views = events.filter((e) => e.type === 'view').length;
    expect(totals.get('all')!.views / views).toBeGreaterThan(20);
    // Sessions already live at midnight join in progress, without a start event (they started the day before).
    expect(lastView.size).toBeGreaterThan(started.size);
  });

  it('ranks Shenzhen third nationally by GMV, sessions and hosts over a generated day', () => {
    expect(ranked(totals, 'city', (t) => t.salesFen).slice(0, 4)).toEqual([
      'Hangzhou',
      'Guangzhou',
      'Shenzhen',
      'Shanghai',
    ]);
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
    for (const e of events) if (e.type === 'sale') byHour[shanghaiHour(e.ts)]!++;
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
