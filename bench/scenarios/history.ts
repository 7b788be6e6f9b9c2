import type { ClickHouseClient } from '@clickhouse/client';
import { MEASURE_SELECT, MIGRATIONS, ROLLUP_SUMS, VIEWER_ROWS, migrate } from '@livetally/history';
import type { Scenario } from '../lib/context';
import { fmtInt } from '../lib/log';
import { summarize, type Summary } from '../lib/stats';
import { benchClickhouse, dropDatabase } from '../lib/stores';
import { uniqueName } from '../lib/stack';

/**
 * 6. History query latency over ≥ 10 million events generated in-engine (INSERT …
 * SELECT … FROM numbers(), in chunks so other users of the shared engine are not
 * blocked for long), in a database of the bench's own created by the real migrations.
 * When the migrations create the per-minute rollup (lt_rollup_minute, fed by a
 * materialized view), the same questions are also timed against it.
 *
 * The questions live in QUERIES below: add, remove or rewrite entries there.
 */

/** The campaign window the synthetic events span: Shenzhen's 2024 livestreaming month. */
const FROM_S = 1_724_342_400; // 2024-08-23 00:00 Asia/Shanghai
const TO_S = FROM_S + 70 * 86_400; // 2024-11-01 00:00
const WEEK = { from: 1_725_120_000, to: 1_725_120_000 + 7 * 86_400 }; // 2024-09-01 00:00 +08:00, 7 days
const DAY = { from: 1_725_120_000, to: 1_725_120_000 + 86_400 };

export interface HistoryQuery {
  name: string;
  table: 'lt_events' | 'lt_rollup_minute';
  sql: string;
  params: Record<string, unknown>;
}

// Measures as the product reads them (packages/history: EventHistory for raw events,
// HistoryQueries for the rollup): exact sums, estimated unique viewers, active hosts.
const RAW_MEASURES = `${MEASURE_SELECT},
  uniqIf(${VIEWER_ROWS.column}, ${VIEWER_ROWS.where}) AS uniqueViewers, uniqExact(host_id) AS activeHosts`;
const ROLLUP_MEASURES = `${ROLLUP_SUMS}, uniqMerge(viewers) AS uniqueViewers, uniqExact(host_id) AS activeHosts`;
const RAW_RANGE = 'ts >= toDateTime({from:UInt32}) AND ts < toDateTime({to:UInt32})';
const ROLLUP_RANGE = 'minute >= toDateTime({from:UInt32}) AND minute < toDateTime({to:UInt32})';

function questions(table: HistoryQuery['table']): HistoryQuery[] {
  const raw = table === 'lt_events';
  const M = raw ? RAW_MEASURES : ROLLUP_MEASURES;
  const R = raw ? RAW_RANGE : ROLLUP_RANGE;
  const t = raw ? 'ts' : 'minute';
  const gmv = raw ? "sumIf(amount_fen, type = 'sale')" : 'sum(sales_fen)';
  const q = (name: string, sql: string, params: Record<string, unknown>): HistoryQuery => ({
    name,
    table,
    sql,
    params,
  });
  const campaign = { from: FROM_S, to: TO_S };
  return [
    q('totals all, 70-day campaign', `SELECT ${M} FROM ${table} WHERE ${R}`, campaign),
    q('totals district, 7 days', `SELECT ${M} FROM ${table} WHERE ${R} AND district = {v:String}`, {
      ...WEEK,
      v: 'Futian',
    }),
    q('totals host, 7 days', `SELECT ${M} FROM ${table} WHERE ${R} AND host_id = {v:String}`, { ...WEEK, v: 'h-42' }),
    q(
      'per-minute series, district, 1 day',
      `SELECT toStartOfMinute(${t}) AS bucket, ${M} FROM ${table} WHERE ${R} AND district = {v:String} GROUP BY bucket ORDER BY bucket`,
      { ...DAY, v: 'Futian' },
    ),
    q(
      'per-hour series, platform, 7 days',
      `SELECT toStartOfHour(${t}) AS bucket, ${M} FROM ${table} WHERE ${R} AND platform = {v:String} GROUP BY bucket ORDER BY bucket`,
      { ...WEEK, v: 'douyin' },
    ),
    q(
      'per-day series, all, 70 days',
      `SELECT toStartOfDay(${t}) AS bucket, ${M} FROM ${table} WHERE ${R} GROUP BY bucket ORDER BY bucket`,
      campaign,
    ),
    q(
      'top-10 hosts by GMV, 7 days',
      `SELECT host_id AS name, ${gmv} AS value FROM ${table} WHERE ${R} GROUP BY name ORDER BY value DESC, name LIMIT 10`,
      WEEK,
    ),
    q(
      'top districts by GMV, 70 days',
      `SELECT district AS name, ${gmv} AS value FROM ${table} WHERE ${R} GROUP BY name ORDER BY value DESC, name LIMIT 10`,
      campaign,
    ),
  ];
}

/** Synthetic rows shaped like the simulator's: 82% views, ~17% sales, skewed hosts, fixed district/category/platform per host. */
function generateSql(database: string, offset: number, count: number, total: number): string {
  return `INSERT INTO ${database}.lt_events
    (event_id, platform, type, stream_id, host_id, ts, city, district, category, viewer_id, order_id, sku, quantity, amount_fen, title, topic, kafka_partition, kafka_offset)
  SELECT
    concat('b', toString(number)),
    ['douyin', 'douyin', 'douyin', 'taobao', 'taobao', 'kuaishou', 'jd', 'wechat'][1 + intDiv(host, 7) % 8],
    multiIf(r < 8200, 'view', r < 9900, 'sale', r < 9960, 'refund', r < 9980, 'stream_started', 'stream_ended') AS type,
    concat('s', toString(host * 64 + intDiv(number, 150000) % 64)),
    concat('h-', toString(host)),
    fromUnixTimestamp64Milli(toInt64(${FROM_S * 1000} + intDiv(number * ${(TO_S - FROM_S) * 1000}, ${total})), 'Asia/Shanghai'),
    'Shenzhen',
    ['Bao\\'an', 'Bao\\'an', 'Longgang', 'Longgang', 'Luohu', 'Nanshan', 'Futian', 'Longhua', 'Guangming', 'Pingshan', 'Yantian', 'Dapeng'][1 + host % 12] AS district,
    ['clothing', 'clothing', 'jewellery', 'electronics', 'eyewear', 'beauty', 'home', 'food'][1 + intDiv(host, 12) % 8] AS category,
    if(type = 'view', concat('v', toString(cityHash64(number, 1) % 5000000)), ''),
    if(type IN ('sale', 'refund'), concat('o', toString(number)), ''),
    if(type = 'sale', concat(category, '-', toString(h % 400)), ''),
    if(type = 'sale', if(h % 100 < 85, 1, 2 + h % 4), 0),
    if(type IN ('sale', 'refund'), toInt64(990 + cityHash64(number, 2) % 200000), 0),
    if(type = 'stream_started', 'bench', ''),
    'bench',
    number % 12,
    intDiv(number, 12)
  FROM (
    SELECT number, cityHash64(number) AS h, h % 10000 AS r,
      toUInt32(floor(pow((intHash32(number) % 1000000) / 1000000., 3) * 2000)) + 1 AS host
    FROM numbers(${offset}, ${count})
  )`;
}

export interface QueryTiming {
  name: string;
  table: string;
  runs: number;
  rowsReturned: number;
  ms: Summary | null;
  error?: string;
}

export interface HistoryResult {
  rows: number;
  rollupRows: number | null;
  rollupPresent: boolean;
  loadSeconds: number;
  runsPerQuery: number;
  queries: QueryTiming[];
  /** Worst p95 over the lt_events questions, and over the rollup questions. */
  worstP95Raw: number;
  worstP95Rollup: number | null;
}

async function count(ch: ClickHouseClient, sql: string, params: Record<string, unknown> = {}): Promise<number> {
  const rs = await ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
}

async function timeQuery(ch: ClickHouseClient, q: HistoryQuery, runs: number, budgetMs: number): Promise<QueryTiming> {
  const times: number[] = [];
  let rowsReturned = 0;
  const deadline = performance.now() + budgetMs;
  try {
    for (let i = 0; i < runs + 1; i++) {
      if (times.length >= 3 && performance.now() > deadline) break; // slow query: fewer runs
      const started = performance.now();
      const rs = await ch.query({ query: q.sql, query_params: q.params, format: 'JSONEachRow' });
      const rows = await rs.json();
      if (i >= 1) times.push(performance.now() - started); // one warm-up run
      rowsReturned = rows.length;
    }
    return { name: q.name, table: q.table, runs: times.length, rowsReturned, ms: summarize(times) };
  } catch (err) {
    return {
      name: q.name,
      table: q.table,
      runs: times.length,
      rowsReturned,
      ms: times.length ? summarize(times) : null,
      error: (err as Error).message.slice(0, 300),
    };
  }
}

export const history: Scenario<HistoryResult> = {
  name: 'history',
  title: 'History query latency over ≥ 10 M events (lt_events, and lt_rollup_minute when present)',
  async run(ctx, log) {
    const { historyRows: total, historyRuns: runs, historyQueryBudgetS } = ctx.opts.sizes;
    const database = uniqueName('bench_history');
    const admin = benchClickhouse();
    const ch = benchClickhouse(database);
    const cleanup = ctx.onCleanup(async () => {
      await dropDatabase(admin, database);
      await Promise.allSettled([admin.close(), ch.close()]);
    });
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
      try {
        await migrate(ch);
      } catch (err) {
        // A migration being edited must not cost the raw-table figures.
        log(`migrations failed (${(err as Error).message.slice(0, 200)}); creating lt_events from migration 1 only`);
        for (const statement of MIGRATIONS[0]!.statements) await ch.command({ query: statement });
      }
      const rollupPresent =
        (await count(
          admin,
          "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'lt_rollup_minute'",
          { db: database },
        )) > 0;
      log(
        `database ${database}; rollup lt_rollup_minute ${rollupPresent ? 'present (filled by its materialized view)' : 'absent: timing lt_events only'}`,
      );
      const chunk = 250_000; // small enough that other users of a shared chDB engine wait seconds, not minutes
      const started = performance.now();
      for (let offset = 0; offset < total; offset += chunk) {
        await ch.command({ query: generateSql(database, offset, Math.min(chunk, total - offset), total) });
        log(
          `generated ${fmtInt(Math.min(offset + chunk, total))}/${fmtInt(total)} events (${((performance.now() - started) / 1000).toFixed(1)} s)`,
        );
      }
      const loadSeconds = (performance.now() - started) / 1000;
      const rows = await count(ch, 'SELECT count() AS n FROM lt_events');
      const rollupRows = rollupPresent ? await count(ch, 'SELECT count() AS n FROM lt_rollup_minute') : null;
      log(
        `lt_events ${fmtInt(rows)} rows${rollupRows !== null ? `, lt_rollup_minute ${fmtInt(rollupRows)} rows` : ''}; loaded in ${loadSeconds.toFixed(1)} s`,
      );

      const list = [...questions('lt_events'), ...(rollupPresent ? questions('lt_rollup_minute') : [])];
      const queries: QueryTiming[] = [];
      for (const q of list) {
        const timing = await timeQuery(ch, q, runs, historyQueryBudgetS * 1000);
        queries.push(timing);
        log(
          `${q.table}: ${q.name}: ` +
            (timing.ms
              ? `p50 ${timing.ms.p50.toFixed(1)} ms, p95 ${timing.ms.p95.toFixed(1)} ms over ${timing.runs} runs`
              : '') +
            (timing.error ? ` ERROR ${timing.error}` : ''),
        );
      }
      const worst = (table: string) =>
        Math.max(...queries.filter((q) => q.table === table && q.ms).map((q) => q.ms!.p95));
      return {
        rows,
        rollupRows,
        rollupPresent,
        loadSeconds,
        runsPerQuery: runs,
        queries,
        worstP95Raw: worst('lt_events'),
        worstP95Rollup: rollupPresent ? worst('lt_rollup_minute') : null,
      };
    } finally {
      await cleanup();
    }
  },
};
