import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASURES, tally, type LiveEvent } from '@livetally/events';
import {
  EventHistory,
  HistoryQueries,
  MIGRATIONS,
  createHistoryClient,
  migrate,
  rollupColumn,
  toEventRow,
} from '@livetally/history';
import { buildDataset } from '../services/simulator/src/dataset';
import { STACK, uniqueName } from './support/stack';

/**
 * A deployment whose ClickHouse predates likes and view counts (migrated to version 3,
 * rows already written) is migrated at the next start: the rollup gains the column the
 * counting rule asks for, lt_events gains `count` (DEFAULT 1: each earlier view row is
 * one view), the views count likes and view counts from then on, and the rows from
 * before keep their figures (likes 0). The same figures as a database created new.
 */
const database = uniqueName('rollmig');
const START = Date.parse('2024-08-23T00:00:00+08:00');
const HOUR = 3_600_000;

describe('rollup migration to a new measure', () => {
  let admin: ClickHouseClient;
  let client: ClickHouseClient;
  const events: LiveEvent[] = buildDataset({ seed: 77, count: 4_000, startTs: START, spanMs: 2 * HOUR, hosts: 40 }).map(
    (m) => m.event!,
  );
  const before = events.filter((e) => e.type !== 'like' && e.ts < START + HOUR);
  // After the migrations views may carry a count (version 5's column; the rows from before read its default, 1).
  const after = events
    .filter((e) => e.ts >= START + HOUR)
    .map((e, i): LiveEvent => {
      if (e.type !== 'view' || i % 4 !== 0) return e;
      // Half of them as a platform's count that names no viewer.
      const { viewerId, ...counted } = e;
      return i % 8 === 0 ? { ...counted, count: 10 + (i % 500) } : { ...counted, viewerId, count: 10 + (i % 500) };
    });

  beforeAll(async () => {
    admin = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter });
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    client = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter, database });
  });

  afterAll(async () => {
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await client?.close();
    await admin?.close();
  });

  const rowsOf = (list: LiveEvent[], offset: number) =>
    list.map((e, i) => toEventRow(e, { topic: 't', partition: 0, offset: String(offset + i) }));
  // As a worker of version 3 wrote them: lt_events had no count column yet.
  const insertBeforeCount = (list: LiveEvent[]) =>
    client.insert({
      table: 'lt_events',
      values: rowsOf(list, 0).map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'count'))),
      format: 'JSONEachRow',
    });
  const insert = (list: LiveEvent[], offset: number) =>
    new EventHistory(client).insertEvents(rowsOf(list, offset), `t:0:${offset}`);

  it('adds the column, points the view at the rule, and keeps what the rollup held', async () => {
    expect(await migrate(client, MIGRATIONS.slice(0, 3))).toEqual([1, 2, 3]);
    await insertBeforeCount(before);
    expect(await migrate(client)).toEqual(MIGRATIONS.slice(3).map((m) => m.version));
    expect(await migrate(client)).toEqual([]);
    await insert(after, before.length);

    const rs = await client.query({ query: 'DESCRIBE TABLE lt_rollup_minute', format: 'JSONEachRow' });
    const columns = new Map((await rs.json<{ name: string; type: string }>()).map((c) => [c.name, c.type]));
    for (const m of MEASURES)
      expect(columns.get(rollupColumn(m)), m).toMatch(/^SimpleAggregateFunction\(sum, U?Int64\)$/);

    const q = new HistoryQueries(client);
    const ts = events.map((e) => e.ts);
    const from = Math.floor(Math.min(...ts) / 60_000) * 60_000;
    const to = Math.ceil((Math.max(...ts) + 1) / 60_000) * 60_000;
    const totals = await q.totals({ kind: 'all' }, from, to);
    const want = tally([...before, ...after]).get('all')!;
    expect(want.likes).toBeGreaterThan(0);
    expect(want.views).toBeGreaterThan(2 * [...before, ...after].filter((e) => e.type === 'view').length);
    expect(totals).toMatchObject(want);
    // Unique viewers come from the view rows that name one (few enough here for uniq to be exact).
    const named = new Set([...before, ...after].flatMap((e) => (e.type === 'view' && e.viewerId ? [e.viewerId] : [])));
    expect([...before, ...after].some((e) => e.type === 'view' && e.viewerId === undefined)).toBe(true);
    expect(totals.uniqueViewers).toBe(named.size);
    expect(await q.totals({ kind: 'all' }, from, START + HOUR)).toMatchObject({
      ...tally(before).get('all'),
      likes: 0,
    });
  });
});
