import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../services/simulator/src/dataset';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';

/**
 * The gateway's /v1/history endpoints against real ClickHouse: events are inserted with
 * EventHistory into a unique database (the rollup view fills lt_rollup_minute), and
 * every figure the gateway answers equals one computed here directly from the events —
 * sums exactly, unique viewers within 3%.
 */
const START = Date.parse('2024-08-23T00:00:00+08:00');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SHANGHAI = 8 * HOUR; // no daylight saving time

// A few other cities, so ranking a city means something.
const events: LiveEvent[] = buildDataset({ seed: 23, count: 24_000, startTs: START, spanMs: 3 * DAY, hosts: 150 }).map(
  (m, i) => {
    const e = m.event!;
    return i % 5 === 0 ? { ...e, city: 'Guangzhou' } : i % 13 === 0 ? { ...e, city: 'Hangzhou' } : e;
  },
);

const within = (from: number, to: number, list = events) => list.filter((e) => e.ts >= from && e.ts < to);
const gmv = (e: LiveEvent) => (e.type === 'sale' ? e.amountFen : 0);
const sum = (list: LiveEvent[], f: (e: LiveEvent) => number) => list.reduce((s, e) => s + f(e), 0);
const count = (list: LiveEvent[], type: LiveEvent['type']) => list.filter((e) => e.type === type).length;
function expectedTotals(list: LiveEvent[]) {
  const salesFen = sum(list, gmv);
  const refundsFen = sum(list, (e) => (e.type === 'refund' ? e.amountFen : 0));
  return {
    views: count(list, 'view'),
    sessions: count(list, 'stream_started'),
    sessionsEnded: count(list, 'stream_ended'),
    salesFen,
    refundsFen,
    netSalesFen: salesFen - refundsFen,
    orders: count(list, 'sale'),
    items: sum(list, (e) => (e.type === 'sale' ? e.quantity : 0)),
    refunds: count(list, 'refund'),
    activeHosts: new Set(list.map((e) => e.hostId)).size,
  };
}
const viewers = (list: LiveEvent[]) => new Set(list.flatMap((e) => (e.type === 'view' ? [e.viewerId] : []))).size;
/** Ranking by a value, ties by name, as the API orders it. */
function ranked(list: LiveEvent[], key: (e: LiveEvent) => string, value: (e: LiveEvent) => number) {
  const by = new Map<string, number>();
  for (const e of list) by.set(key(e), (by.get(key(e)) ?? 0) + value(e));
  return [...by]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, v], i) => ({ rank: i + 1, name, value: v }));
}

let fx: HistoryFixture;
let app: FastifyInstance;
const get = async (path: string, params: Record<string, string | number>) => {
  const res = await app.inject(
    `${path}?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`,
  );
  return { status: res.statusCode, body: res.json() };
};

beforeAll(async () => {
  fx = await startHistoryGateway('gwhist', events);
  app = fx.gateway.app;
});

afterAll(async () => {
  await fx?.close();
});

describe('gateway history API over the rollups', () => {
  it('totals equal the events in the range, for all and for a scope', async () => {
    const from = START + 12 * HOUR;
    const to = START + 2 * DAY;
    const all = await get('/v1/history/totals', { from: new Date(from).toISOString(), to });
    expect(all.status).toBe(200);
    const inRange = within(from, to);
    expect(all.body.totals).toMatchObject(expectedTotals(inRange));
    expect(Math.abs(all.body.totals.uniqueViewers - viewers(inRange)) / viewers(inRange)).toBeLessThan(0.03);

    const luohu = await get('/v1/history/totals', {
      scope: 'district:Luohu',
      from: '2024-08-23T00:00:00+08:00',
      to: START + 3 * DAY,
    });
    const luohuEvents = events.filter((e) => e.district === 'Luohu');
    expect(luohu.body).toMatchObject({
      scope: 'district:Luohu',
      from: '2024-08-22T16:00:00.000Z',
      totals: expectedTotals(luohuEvents),
    });
    expect(Math.abs(luohu.body.totals.uniqueViewers - viewers(luohuEvents)) / viewers(luohuEvents)).toBeLessThan(0.03);
    const host = events[100]!.hostId;
    expect(
      (await get('/v1/history/totals', { scope: `host:${host}`, from: START, to: START + 3 * DAY })).body.totals,
    ).toMatchObject(expectedTotals(events.filter((e) => e.hostId === host)));
  });

  it('day, hour and minute series bucket in the requested zone', async () => {
    const days = await get('/v1/history/series', { from: START, to: START + 3 * DAY, granularity: 'day' });
    expect(days.body.tz).toBe('Asia/Shanghai');
    expect(days.body.buckets.map((b: { bucket: string }) => b.bucket)).toEqual([
      '2024-08-23T00:00:00',
      '2024-08-24T00:00:00',
      '2024-08-25T00:00:00',
    ]);
    days.body.buckets.forEach((b: Record<string, number>, i: number) =>
      expect(b, String(b.bucket)).toMatchObject(expectedTotals(within(START + i * DAY, START + (i + 1) * DAY))),
    );

    // Hours of one category, keyed independently: Shanghai local time of each event's hour.
    const jewellery = within(START, START + DAY).filter((e) => e.category === 'jewellery');
    const byHour = new Map<string, LiveEvent[]>();
    for (const e of jewellery) {
      const key = `${new Date(Math.floor((e.ts + SHANGHAI) / HOUR) * HOUR).toISOString().slice(0, 13)}:00:00`;
      byHour.set(key, [...(byHour.get(key) ?? []), e]);
    }
    const hours = await get('/v1/history/series', {
      scope: 'category:jewellery',
      from: START,
      to: START + DAY,
      granularity: 'hour',
    });
    expect(hours.body.buckets.map((b: { bucket: string }) => b.bucket)).toEqual([...byHour.keys()].sort());
    for (const b of hours.body.buckets) expect(b, b.bucket).toMatchObject(expectedTotals(byHour.get(b.bucket)!));

    const minutes = await get('/v1/history/series', { from: START, to: START + HOUR, granularity: 'minute' });
    const firstHour = within(START, START + HOUR);
    expect(minutes.body.buckets.reduce((s: number, b: { orders: number }) => s + b.orders, 0)).toBe(
      count(firstHour, 'sale'),
    );
    expect(minutes.body.buckets.reduce((s: number, b: { salesFen: number }) => s + b.salesFen, 0)).toBe(
      sum(firstHour, gmv),
    );
    expect(minutes.body.buckets[0].bucket).toBe('2024-08-23T00:00:00');

    // In UTC the days start 8 hours later.
    const utcDays = await get('/v1/history/series', {
      from: START + 8 * HOUR,
      to: START + 2 * DAY + 8 * HOUR,
      granularity: 'day',
      tz: 'UTC',
    });
    expect(utcDays.body.buckets.map((b: { bucket: string }) => b.bucket)).toEqual([
      '2024-08-23T00:00:00',
      '2024-08-24T00:00:00',
    ]);
    expect(utcDays.body.buckets[1].salesFen).toBe(sum(within(START + DAY + 8 * HOUR, START + 2 * DAY + 8 * HOUR), gmv));
  });

  it('top-N and ranks equal an independent ranking', async () => {
    const top = await get('/v1/history/top', {
      dimension: 'host',
      measure: 'gmv',
      from: START,
      to: START + 3 * DAY,
      limit: 5,
    });
    expect(top.body.items).toEqual(ranked(events, (e) => e.hostId, gmv).slice(0, 5));
    const jewelleryDistricts = await get('/v1/history/top', {
      dimension: 'district',
      measure: 'views',
      from: START,
      to: START + DAY,
      limit: 100,
      scope: 'category:jewellery',
    });
    expect(jewelleryDistricts.body.items).toEqual(
      ranked(
        within(START, START + DAY).filter((e) => e.category === 'jewellery'),
        (e) => e.district,
        (e) => (e.type === 'view' ? 1 : 0),
      ),
    );

    const cities = ranked(events, (e) => e.city, gmv);
    expect(cities.map((c) => c.name).sort()).toEqual(['Guangzhou', 'Hangzhou', 'Shenzhen']);
    for (const city of cities) {
      const r = await get('/v1/history/rank', {
        dimension: 'city',
        name: city.name,
        measure: 'gmv',
        from: START,
        to: START + 3 * DAY,
      });
      expect(r.body).toMatchObject({ rank: city.rank, of: 3, value: city.value });
    }
    expect(
      (await get('/v1/history/rank', { dimension: 'city', name: 'Atlantis', from: START, to: START + DAY })).body,
    ).toMatchObject({ rank: null, of: null, value: 0 });
  });

  it('answers clear 400s for what the rollups cannot or will not answer', async () => {
    const stream = await get('/v1/history/totals', {
      scope: `stream:${events[0]!.streamId}`,
      from: START,
      to: START + DAY,
    });
    expect(stream).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_SCOPE', message: expect.stringContaining('lt_events') } },
    });
    const longMinutes = await get('/v1/history/series', { from: START, to: START + 8 * DAY, granularity: 'minute' });
    expect(longMinutes).toMatchObject({ status: 400, body: { error: { code: 'INVALID_RANGE' } } });
    const bigLimit = await get('/v1/history/top', { dimension: 'host', from: START, to: START + DAY, limit: 101 });
    expect(bigLimit).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
  });
});
