import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHistory, HistoryQueries, createHistoryClient, migrate, toEventRow } from '@livetally/history';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../services/simulator/src/dataset';
import { STACK, uniqueName } from './support/stack';

/**
 * History API figures from the rollups equal figures computed directly from the seeded
 * events; sums exactly, unique viewers within the estimator's error.
 */
const database = uniqueName('hist');
const START = Date.parse('2024-08-23T00:00:00+08:00');
const DAY = 86_400_000;

describe('history queries over the minute rollups', () => {
  let admin: ClickHouseClient;
  let client: ClickHouseClient;
  let q: HistoryQueries;
  let events: LiveEvent[];

  beforeAll(async () => {
    admin = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter });
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    client = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter, database });
    await migrate(client);
    const data = buildDataset({ seed: 11, count: 30_000, startTs: START, spanMs: 3 * DAY, hosts: 200 });
    events = data.map((m) => m.event!);
    const history = new EventHistory(client);
    for (let i = 0; i < events.length; i += 5_000) {
      const chunk = events
        .slice(i, i + 5_000)
        .map((e, j) => toEventRow(e, { topic: 't', partition: 0, offset: String(i + j) }));
      await history.insertEvents(chunk, `t:0:${i}`);
      // A retried insert of the same range must not count twice in the rollups either.
      await history.insertEvents(chunk, `t:0:${i}`);
    }
    q = new HistoryQueries(client);
  });

  afterAll(async () => {
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await client?.close();
    await admin?.close();
  });

  const within = (from: number, to: number) => events.filter((e) => e.ts >= from && e.ts < to);
  const sum = (list: LiveEvent[], f: (e: LiveEvent) => number) => list.reduce((s, e) => s + f(e), 0);
  const gmv = (e: LiveEvent) => (e.type === 'sale' ? e.amountFen : 0);

  it('totals over a range equal the events in it', async () => {
    const from = START + DAY / 2;
    const to = START + 2 * DAY;
    const inRange = within(from, to);
    const t = await q.totals({ kind: 'all' }, from, to);
    expect(t).toMatchObject({
      views: inRange.filter((e) => e.type === 'view').length,
      sessions: inRange.filter((e) => e.type === 'stream_started').length,
      salesFen: sum(inRange, gmv),
      refundsFen: sum(inRange, (e) => (e.type === 'refund' ? e.amountFen : 0)),
      orders: inRange.filter((e) => e.type === 'sale').length,
      items: sum(inRange, (e) => (e.type === 'sale' ? e.quantity : 0)),
      activeHosts: new Set(inRange.map((e) => e.hostId)).size,
    });
    expect(t.netSalesFen).toBe(t.salesFen - t.refundsFen);
    const viewers = new Set(inRange.flatMap((e) => (e.type === 'view' ? [e.viewerId] : []))).size;
    expect(Math.abs(t.uniqueViewers - viewers) / viewers).toBeLessThan(0.03);
  });

  it('filters by scope and by campaign filters', async () => {
    const luohu = await q.totals({ kind: 'district', value: 'Luohu' }, START, START + 3 * DAY);
    expect(luohu.salesFen).toBe(
      sum(
        events.filter((e) => e.district === 'Luohu'),
        gmv,
      ),
    );
    const campaign = await q.totals(
      { kind: 'filters', districts: ['Luohu', 'Futian'], categories: ['jewellery'] },
      START,
      START + DAY,
    );
    expect(campaign.salesFen).toBe(
      sum(
        within(START, START + DAY).filter(
          (e) => ['Luohu', 'Futian'].includes(e.district) && e.category === 'jewellery',
        ),
        gmv,
      ),
    );
  });

  it('day and hour series bucket in Asia/Shanghai', async () => {
    const days = await q.series({ kind: 'all' }, START, START + 3 * DAY, 'day');
    expect(days.map((d) => d.bucket)).toEqual(['2024-08-23T00:00:00', '2024-08-24T00:00:00', '2024-08-25T00:00:00']);
    days.forEach((d, i) => expect(d.salesFen, d.bucket).toBe(sum(within(START + i * DAY, START + (i + 1) * DAY), gmv)));
    const hours = await q.series({ kind: 'category', value: 'jewellery' }, START, START + DAY, 'hour');
    const h5 = hours.find((h) => h.bucket === '2024-08-23T05:00:00')!;
    expect(h5.views).toBe(
      within(START + 5 * 3_600_000, START + 6 * 3_600_000).filter(
        (e) => e.category === 'jewellery' && e.type === 'view',
      ).length,
    );
    const minutes = await q.series({ kind: 'all' }, START, START + 3_600_000, 'minute');
    expect(sum(minutes as unknown as LiveEvent[], (m) => (m as unknown as { orders: number }).orders)).toBe(
      within(START, START + 3_600_000).filter((e) => e.type === 'sale').length,
    );
  });

  it('ranks hosts and districts, and finds one member’s rank', async () => {
    const byHost = new Map<string, number>();
    for (const e of events) byHost.set(e.hostId, (byHost.get(e.hostId) ?? 0) + gmv(e));
    const expected = [...byHost]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([name, value]) => ({ name, value }));
    expect(await q.top('host', 'gmv', START, START + 3 * DAY, 5)).toEqual(expected);
    const third = expected[2]!;
    expect(await q.rankOf('host', third.name, 'gmv', START, START + 3 * DAY)).toEqual({
      rank: 3,
      of: byHost.size,
      value: third.value,
    });
    expect(await q.rankOf('host', 'nobody', 'gmv', START, START + 3 * DAY)).toBeNull();
    const districts = await q.top('district', 'views', START, START + 3 * DAY, 10);
    expect(districts[0]!.value).toBe(Math.max(...districts.map((d) => d.value)));
  });
});
