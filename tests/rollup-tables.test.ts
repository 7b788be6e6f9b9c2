import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tally, type LiveEvent } from '@livetally/events';
import {
  DAY_ROLLUP,
  EventHistory,
  HOUR_ROLLUP,
  HistoryQueries,
  MIGRATIONS,
  MINUTE_ROLLUP,
  ROLLUPS,
  createHistoryClient,
  migrate,
  toEventRow,
  type Granularity,
  type HistorySubject,
  type RankDimension,
  type RankMeasure,
  type Rollup,
  VIEWER_ROWS,
  VIEWER_SKETCHES,
} from '@livetally/history';
import { buildDataset } from '../services/simulator/src/dataset';
import { STACK, uniqueName } from './support/stack';

/**
 * Every rollup gives the answer the minute rollup gives, for every kind of question
 * (totals, series, rankings, a rank, campaign filters) over aligned and unaligned ranges:
 * HistoryQueries is made to read only the minute rollup, the hour or the day rollup with
 * minute edges, or all of them, and the answers must be equal, unique viewers included.
 * Where the viewer sketches answer unique viewers (ADR 0004: a kept scope over whole
 * Asia/Shanghai days), the sums must be equal and the viewers must be exactly
 * `uniqCombined(14)` of the same rows of lt_events, and within its error of `uniq`'s.
 *
 * Two databases: one created new, and one upgraded while it held rows, with rows written
 * during the migration (which two processes run at once) and after it, so the upgraded
 * coarser rollups hold each row exactly once: the fill of the rows before their fence,
 * their views after it.
 */
const START = Date.parse('2024-09-01T00:00:00+08:00');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const CITIES = ['Shenzhen', 'Guangzhou', 'Hangzhou'];

/** Nine days of events over 60 hosts in three cities; some views are counts, some of them name no viewer. */
function dataset(): LiveEvent[] {
  const events = buildDataset({ seed: 91, count: 12_000, startTs: START, spanMs: 9 * DAY, hosts: 60 });
  return events.map((m, i): LiveEvent => {
    const e = m.event!;
    const city = CITIES[Number(e.hostId.replace(/\D/g, '')) % CITIES.length]!;
    if (e.type !== 'view' || i % 5 !== 0) return { ...e, city };
    const { viewerId, ...counted } = e;
    return i % 10 === 0 ? { ...counted, city, count: 7 + (i % 40) } : { ...counted, city, viewerId, count: 3 };
  });
}

const CHOICES: [string, readonly Rollup[]][] = [
  ['minute only', [MINUTE_ROLLUP]],
  ['hour + minute edges', [HOUR_ROLLUP, MINUTE_ROLLUP]],
  ['day + minute edges', [DAY_ROLLUP, MINUTE_ROLLUP]],
  ['day, hour, minute', ROLLUPS],
];

const RANGES: [string, number, number][] = [
  ['whole days', START + DAY, START + 8 * DAY],
  ['unaligned', START + DAY + 3 * HOUR + 17 * MINUTE, START + 7 * DAY + 5 * HOUR + 42 * MINUTE],
  ['whole hours in a day', START + 2 * DAY + 5 * HOUR, START + 2 * DAY + 17 * HOUR],
  ['seconds off the minute', START + DAY + 90_500, START + 3 * DAY + 30_250],
  ['UTC days', Date.parse('2024-09-02T00:00:00Z'), Date.parse('2024-09-06T00:00:00Z')],
  ['empty', START + 3 * DAY, START + 3 * DAY],
];

interface Question {
  name: string;
  ask: (q: HistoryQueries) => Promise<unknown>;
}

function questions(events: LiveEvent[]): Question[] {
  const busiest = (key: (e: LiveEvent) => string) => {
    const n = new Map<string, number>();
    for (const e of events) n.set(key(e), (n.get(key(e)) ?? 0) + 1);
    return [...n].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  };
  const districts = busiest((e) => e.district);
  const subjects: [string, HistorySubject][] = [
    ['all', { kind: 'all' }],
    ['district', { kind: 'district', value: districts[0]! }],
    ['host', { kind: 'host', value: busiest((e) => e.hostId)[1]! }],
    ['city', { kind: 'city', value: 'Guangzhou' }],
    ['platform', { kind: 'platform', value: busiest((e) => e.platform)[0]! }],
    [
      'campaign filters',
      { kind: 'filters', districts: districts.slice(0, 3), categories: busiest((e) => e.category).slice(0, 2) },
    ],
  ];
  const out: Question[] = [];
  for (const [range, from, to] of RANGES)
    for (const [about, subject] of subjects)
      out.push({ name: `totals ${about}, ${range}`, ask: (q) => q.totals(subject, from, to) });
  const series: [Granularity, string][] = [
    ['hour', 'Asia/Shanghai'],
    ['day', 'Asia/Shanghai'],
    ['hour', 'UTC'],
    ['day', 'UTC'],
    ['day', 'America/New_York'],
    ['hour', 'Asia/Kolkata'],
  ];
  for (const [range, from, to] of RANGES.filter(([r]) => r === 'unaligned' || r === 'UTC days'))
    for (const [granularity, tz] of series)
      for (const [about, subject] of subjects.filter(([a]) => ['all', 'host', 'campaign filters'].includes(a)))
        out.push({
          name: `${granularity} series in ${tz}, ${about}, ${range}`,
          ask: (q) => q.series(subject, from, to, granularity, tz),
        });
  const [, from, to] = RANGES[1]!;
  for (const dimension of ['host', 'district', 'category', 'platform', 'city'] as RankDimension[])
    for (const measure of ['gmv', 'views', 'sessions'] as RankMeasure[])
      out.push({ name: `top ${dimension} by ${measure}`, ask: (q) => q.top(dimension, measure, from, to, 5) });
  for (const [range, start, end] of RANGES.slice(0, 2)) {
    out.push({
      name: `top hosts within campaign filters, ${range}`,
      ask: (q) => q.top('host', 'gmv', start, end, 10, subjects[5]![1]),
    });
    out.push({
      name: `top districts of a platform, ${range}`,
      ask: (q) => q.top('district', 'views', start, end, 10, subjects[4]![1]),
    });
    for (const [dimension, member] of [
      ['city', 'Guangzhou'],
      ['district', districts[2]!],
      ['host', busiest((e) => e.hostId)[4]!],
    ] as [RankDimension, string][])
      out.push({
        name: `rank of ${dimension} ${member}, ${range}`,
        ask: (q) => q.rankOf(dimension, member, 'gmv', start, end),
      });
  }
  const day = START + 4 * DAY;
  out.push({
    name: 'minute series over unaligned hours',
    ask: (q) => q.series({ kind: 'all' }, day + 7 * MINUTE, day + 3 * HOUR + 9 * MINUTE, 'minute'),
  });
  return out;
}

describe('every rollup gives the minute rollup’s answer', () => {
  const events = dataset();
  const rowsOf = (list: LiveEvent[], offset: number) =>
    list.map((e, i) => toEventRow(e, { topic: 't', partition: 0, offset: String(offset + i) }));
  let admin: ClickHouseClient;
  const clients: ClickHouseClient[] = [];
  const databases = { fresh: uniqueName('rollfresh'), upgraded: uniqueName('rollupgr') };
  const connect = (database: string) => {
    const client = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter, database });
    clients.push(client);
    return client;
  };
  const insert = (client: ClickHouseClient, list: LiveEvent[], offset: number) =>
    new EventHistory(client).insertEvents(rowsOf(list, offset), `t:0:${offset}`);

  beforeAll(async () => {
    admin = createHistoryClient({ url: STACK.clickhouseUrl, ...STACK.clickhouseWriter });
    for (const database of Object.values(databases))
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  });

  afterAll(async () => {
    for (const database of Object.values(databases))
      await admin?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await Promise.all([...clients, admin].map((c) => c?.close()));
  });

  it('a database created new fills the coarser rollups through their views', async () => {
    const client = connect(databases.fresh);
    expect(await migrate(client)).toEqual(MIGRATIONS.map((m) => m.version));
    for (let i = 0; i < events.length; i += 3_000) await insert(client, events.slice(i, i + 3_000), i);
    await expectSameAnswers(client, events);
  });

  it('an upgraded database fills them with the rows stored before, during and after the migration', async () => {
    const client = connect(databases.upgraded);
    const before = events.filter((_, i) => i % 3 === 0);
    const during = events.filter((_, i) => i % 3 === 1);
    const after = events.filter((_, i) => i % 3 === 2);
    const added = MIGRATIONS.map((m) => m.version).filter((v) => v > 5);
    expect(await migrate(client, MIGRATIONS.slice(0, 5))).toEqual([1, 2, 3, 4, 5]);
    for (let i = 0; i < before.length; i += 2_000) await insert(client, before.slice(i, i + 2_000), i);

    // Two processes migrate at once while a writer keeps inserting (20 batches, 400 ms apart).
    const migrating = Promise.all([migrate(connect(databases.upgraded)), migrate(connect(databases.upgraded))]);
    const batch = Math.ceil(during.length / 20);
    for (let i = 0; i < during.length; i += batch) {
      await insert(client, during.slice(i, i + batch), 100_000 + i);
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(await migrating).toEqual([added, added]);
    await insert(client, after, 200_000);

    const rs = await client.query({
      query: "SELECT DISTINCT rollup_table FROM lt_rollup_fills WHERE step = 'done' ORDER BY rollup_table",
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ rollup_table: string }>()).map((r) => r.rollup_table)).toEqual([
      DAY_ROLLUP.table,
      HOUR_ROLLUP.table,
      VIEWER_SKETCHES.table,
    ]);
    // Rows written during the migration fell on both sides of the fence: the fill and the views each took some.
    const sides = await client.query({
      query: `WITH (SELECT min(at) FROM lt_rollup_fills WHERE rollup_table = 'lt_rollup_hour' AND step = 'fence') AS fence
        SELECT countIf(ingested_at < fence) AS filled, countIf(ingested_at >= fence) AS viewed
        FROM lt_events WHERE kafka_offset >= 100000 AND kafka_offset < 200000`,
      format: 'JSONEachRow',
    });
    const [{ filled, viewed }] = (await sides.json<{ filled: string; viewed: string }>()) as [
      { filled: string; viewed: string },
    ];
    expect(Number(filled)).toBeGreaterThan(0);
    expect(Number(viewed)).toBeGreaterThan(0);
    await expectSameAnswers(client, events);
  });
});

async function expectSameAnswers(client: ClickHouseClient, events: LiveEvent[]): Promise<void> {
  const read = new Map<string, Set<string>>();
  const readers = CHOICES.map(
    ([name, rollups]) =>
      [
        name,
        new HistoryQueries(client, {
          rollups,
          viewerSketches: false,
          onPlan: (tables) => tables.forEach((t) => read.set(name, (read.get(name) ?? new Set()).add(t))),
        }),
      ] as const,
  );
  const minute = readers[0]![1];
  // The minute rollup itself holds every event once (sums; uniques come from the same states).
  const everything = await minute.totals({ kind: 'all' }, START, START + 10 * DAY);
  expect(everything).toMatchObject(tally(events).get('all')!);
  expect(everything.activeHosts).toBe(new Set(events.map((e) => e.hostId)).size);

  const differences: { question: string; choice: string; got: unknown; minute: unknown }[] = [];
  for (const question of questions(events)) {
    const [want, ...answers] = await Promise.all(readers.map(([, reader]) => question.ask(reader)));
    answers.forEach((got, i) => {
      if (JSON.stringify(got) !== JSON.stringify(want))
        differences.push({ question: question.name, choice: readers[i + 1]![0], got, minute: want });
    });
  }
  expect(differences.slice(0, 3)).toEqual([]);
  // The coarser rollups were read, not passed over.
  expect([...read.get('hour + minute edges')!]).toContain(HOUR_ROLLUP.table);
  expect([...read.get('day + minute edges')!]).toContain(DAY_ROLLUP.table);
  expect([...read.get('day, hour, minute')!].sort()).toEqual(ROLLUPS.map((r) => r.table).sort());
  await expectSketchedViewers(client, minute, events);
}

/** Questions the viewer sketches answer: whole Asia/Shanghai days, a scope they keep. */
async function expectSketchedViewers(client: ClickHouseClient, minute: HistoryQueries, events: LiveEvent[]) {
  const [, from, to] = RANGES[0]!;
  const read = new Set<string>();
  const sketched = new HistoryQueries(client, { onPlan: (tables) => tables.forEach((t) => read.add(t)) });
  const top = (key: (e: LiveEvent) => string) => {
    const n = new Map<string, number>();
    for (const e of events) n.set(key(e), (n.get(key(e)) ?? 0) + 1);
    return [...n].sort((a, b) => b[1] - a[1])[0]![0];
  };
  const subjects: [HistorySubject, string][] = [
    [{ kind: 'all' }, '1'],
    [{ kind: 'city', value: 'Guangzhou' }, "city = 'Guangzhou'"],
    [{ kind: 'district', value: top((e) => e.district) }, `district = '${top((e) => e.district)}'`],
    [{ kind: 'platform', value: top((e) => e.platform) }, `platform = '${top((e) => e.platform)}'`],
  ];
  /** uniqCombined(14) of the viewers of lt_events' rows in [start, end) about the subject. */
  const direct = async (where: string, start: number, end: number) => {
    const rs = await client.query({
      query: `SELECT toUInt64(uniqCombined(14)(${VIEWER_ROWS.column})) AS v FROM lt_events
        WHERE ${VIEWER_ROWS.where} AND ${where} AND ts >= fromUnixTimestamp64Milli({start:Int64}) AND ts < fromUnixTimestamp64Milli({end:Int64})`,
      query_params: { start, end },
      format: 'JSONEachRow',
    });
    return Number((await rs.json<{ v: string }>())[0]!.v);
  };
  const withinError = (estimate: number, uniq: number) => Math.abs(estimate - uniq) <= Math.max(2, 0.02 * uniq);
  for (const [subject, where] of subjects) {
    const [got, want] = await Promise.all([sketched.totals(subject, from, to), minute.totals(subject, from, to)]);
    expect({ ...got, uniqueViewers: 0 }).toEqual({ ...want, uniqueViewers: 0 });
    expect(got.uniqueViewers).toBe(await direct(where, from, to));
    expect(withinError(got.uniqueViewers, want.uniqueViewers), `${got.uniqueViewers} vs ${want.uniqueViewers}`).toBe(
      true,
    );

    const [days, minuteDays] = await Promise.all([
      sketched.series(subject, from, to, 'day'),
      minute.series(subject, from, to, 'day'),
    ]);
    expect(days.map((d) => ({ ...d, uniqueViewers: 0 }))).toEqual(minuteDays.map((d) => ({ ...d, uniqueViewers: 0 })));
    for (const day of days) {
      const start = Date.parse(`${day.bucket}+08:00`);
      expect(day.uniqueViewers).toBe(await direct(where, start, start + DAY));
    }
  }
  expect(read).toContain(VIEWER_SKETCHES.table);
}
