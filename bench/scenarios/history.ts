import type { ClickHouseClient } from '@clickhouse/client';
import {
  HistoryQueries,
  MEASURE_SELECT,
  MIGRATIONS,
  MINUTE_ROLLUP,
  ROLLUPS,
  VIEWER_ROWS,
  VIEWER_SKETCHES,
  migrate,
  type HistorySubject,
} from '@livetally/history';
import { sameAnswer } from '../lib/answers';
import type { Scenario } from '../lib/context';
import { fmtInt } from '../lib/log';
import { summarize, type Summary } from '../lib/stats';
import { benchClickhouse, dropDatabase } from '../lib/stores';
import { uniqueName } from '../lib/stack';

/**
 * 6. History query latency over ≥ 10 million events generated in-engine (INSERT …
 * SELECT … FROM numbers(), in chunks so other users of the shared engine are not
 * blocked for long), in a database of the bench's own created by the real migrations,
 * so the rollups fill through their materialized views. Each question is timed three
 * ways in the same run: as SQL over lt_events, as the product's HistoryQueries answered
 * it from the per-minute rollup only (the baseline), and as HistoryQueries answers it
 * now, from the coarsest rollups that fit; the last two must give the same answer.
 *
 * The questions live in questions() below: add, remove or rewrite entries there.
 */

/** The campaign window the synthetic events span: Shenzhen's 2024 livestreaming month. */
const FROM_S = 1_724_342_400; // 2024-08-23 00:00 Asia/Shanghai
const TO_S = FROM_S + 70 * 86_400; // 2024-11-01 00:00

/** When the questions ask about, in Unix seconds: the whole campaign, a week and a day in it. */
export interface QuestionRanges {
  campaign: { from: number; to: number };
  week: { from: number; to: number };
  day: { from: number; to: number };
}

const SYNTHETIC_RANGES: QuestionRanges = {
  campaign: { from: FROM_S, to: TO_S },
  week: { from: 1_725_120_000, to: 1_725_120_000 + 7 * 86_400 }, // 2024-09-01 00:00 +08:00, 7 days
  day: { from: 1_725_120_000, to: 1_725_120_000 + 86_400 },
};

/** How a question is read: SQL over lt_events, HistoryQueries over the minute rollup, or over the rollups it picks. */
export type HistoryPath = 'lt_events' | 'lt_rollup_minute' | 'rollups';

interface Question {
  name: string;
  /** The question as SQL over raw events (EventHistory's measures). */
  sql: string;
  params: { from: number; to: number; v?: string };
  /** The question as the history API asks it. */
  ask: (q: HistoryQueries) => Promise<unknown>;
}

// Measures over raw events as EventHistory reads them: exact sums, estimated unique viewers, active hosts.
const RAW_MEASURES = `${MEASURE_SELECT},
  uniqIf(${VIEWER_ROWS.column}, ${VIEWER_ROWS.where}) AS uniqueViewers, uniqExact(host_id) AS activeHosts`;
const RAW_RANGE = 'ts >= toDateTime({from:UInt32}) AND ts < toDateTime({to:UInt32})';
const GMV = "sumIf(amount_fen, type = 'sale')";

/** Who the questions name: the synthetic data's by default; the month benchmark passes its own. */
export interface QuestionSubjects {
  district: string;
  host: string;
  platform: string;
  city: string;
}

const SYNTHETIC_SUBJECTS: QuestionSubjects = { district: 'Futian', host: 'h-42', platform: 'douyin', city: 'Shenzhen' };

function questions(subjects: QuestionSubjects, ranges: QuestionRanges): Question[] {
  const { district, host, platform, city } = subjects;
  const { campaign, week, day } = ranges;
  const ms = (r: { from: number; to: number }): [number, number] => [r.from * 1000, r.to * 1000];
  const q = (name: string, sql: string, params: Question['params'], ask: Question['ask']): Question => ({
    name,
    sql,
    params,
    ask,
  });
  const scope = (kind: 'district' | 'host' | 'platform', value: string): HistorySubject => ({ kind, value });
  return [
    q('totals all, 70-day campaign', `SELECT ${RAW_MEASURES} FROM lt_events WHERE ${RAW_RANGE}`, campaign, (h) =>
      h.totals({ kind: 'all' }, ...ms(campaign)),
    ),
    q(
      'totals district, 7 days',
      `SELECT ${RAW_MEASURES} FROM lt_events WHERE ${RAW_RANGE} AND district = {v:String}`,
      { ...week, v: district },
      (h) => h.totals(scope('district', district), ...ms(week)),
    ),
    q(
      'totals host, 7 days',
      `SELECT ${RAW_MEASURES} FROM lt_events WHERE ${RAW_RANGE} AND host_id = {v:String}`,
      { ...week, v: host },
      (h) => h.totals(scope('host', host), ...ms(week)),
    ),
    q(
      'per-minute series, district, 1 day',
      `SELECT toStartOfMinute(ts) AS bucket, ${RAW_MEASURES} FROM lt_events WHERE ${RAW_RANGE} AND district = {v:String} GROUP BY bucket ORDER BY bucket`,
      { ...day, v: district },
      (h) => h.series(scope('district', district), ...ms(day), 'minute'),
    ),
    q(
      'per-hour series, platform, 7 days',
      `SELECT toStartOfHour(ts) AS bucket, ${RAW_MEASURES} FROM lt_events WHERE ${RAW_RANGE} AND platform = {v:String} GROUP BY bucket ORDER BY bucket`,
      { ...week, v: platform },
      (h) => h.series(scope('platform', platform), ...ms(week), 'hour'),
    ),
    q(
      'per-day series, all, 70 days',
      `SELECT toStartOfDay(ts) AS bucket, ${RAW_MEASURES} FROM lt_events WHERE ${RAW_RANGE} GROUP BY bucket ORDER BY bucket`,
      campaign,
      (h) => h.series({ kind: 'all' }, ...ms(campaign), 'day'),
    ),
    q(
      'top-10 hosts by GMV, 7 days',
      `SELECT host_id AS name, ${GMV} AS value FROM lt_events WHERE ${RAW_RANGE} GROUP BY name ORDER BY value DESC, name LIMIT 10`,
      week,
      (h) => h.top('host', 'gmv', ...ms(week), 10),
    ),
    q(
      'top districts by GMV, 70 days',
      `SELECT district AS name, ${GMV} AS value FROM lt_events WHERE ${RAW_RANGE} GROUP BY name ORDER BY value DESC, name LIMIT 10`,
      campaign,
      (h) => h.top('district', 'gmv', ...ms(campaign), 10),
    ),
    q(
      'rank of a city by GMV, 70 days',
      `SELECT rank, of, value FROM (
         SELECT name, value, rank() OVER (ORDER BY value DESC) AS rank, count() OVER () AS of
         FROM (SELECT city AS name, ${GMV} AS value FROM lt_events WHERE ${RAW_RANGE} GROUP BY name)
       ) WHERE name = {v:String}`,
      { ...campaign, v: city },
      (h) => h.rankOf('city', city, 'gmv', ...ms(campaign)),
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
  table: HistoryPath;
  runs: number;
  rowsReturned: number;
  ms: Summary | null;
  /** The rollup tables HistoryQueries read, in range order. */
  reads?: string[];
  /** The rollups' answer equals the minute rollup's (HistoryQueries paths; unique viewers from the sketches within the estimates' error: bench/lib/answers.ts). */
  sameAnswer?: boolean;
  error?: string;
}

export interface HistoryResult {
  rows: number;
  /** Rows per rollup table (absent: the migrations did not create it). */
  rollupRows: Record<string, number>;
  rollupPresent: boolean;
  loadSeconds: number;
  runsPerQuery: number;
  queries: QueryTiming[];
  /** Worst p95 over the lt_events questions, over the minute rollup, and over the rollups HistoryQueries picks. */
  worstP95Raw: number;
  worstP95Rollup: number | null;
  worstP95Rollups: number | null;
  /** Every question got the same answer from the rollups as from the minute rollup. */
  answersMatch: boolean | null;
}

async function count(ch: ClickHouseClient, sql: string, params: Record<string, unknown> = {}): Promise<number> {
  const rs = await ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
}

/** Runs a question `runs` times after one warm-up (fewer once the budget is spent); its timings and last answer. */
async function timeRuns(
  name: string,
  table: HistoryPath,
  ask: () => Promise<unknown>,
  runs: number,
  budgetMs: number,
): Promise<{ timing: QueryTiming; answer: string | undefined }> {
  const times: number[] = [];
  let answer: unknown;
  const deadline = performance.now() + budgetMs;
  const rowsOf = (a: unknown) => (Array.isArray(a) ? a.length : a === null || a === undefined ? 0 : 1);
  try {
    for (let i = 0; i < runs + 1; i++) {
      if (times.length >= 3 && performance.now() > deadline) break; // slow query: fewer runs
      const started = performance.now();
      answer = await ask();
      if (i >= 1) times.push(performance.now() - started); // one warm-up run
    }
    const timing = { name, table, runs: times.length, rowsReturned: rowsOf(answer), ms: summarize(times) };
    return { timing, answer: JSON.stringify(answer) };
  } catch (err) {
    const ms = times.length ? summarize(times) : null;
    const error = (err as Error).message.slice(0, 300);
    return { timing: { name, table, runs: times.length, rowsReturned: rowsOf(answer), ms, error }, answer: undefined };
  }
}

/**
 * Each question over lt_events (unless `raw` is false), then through HistoryQueries from the
 * minute rollup and from the rollups it picks. The month benchmark times its replayed month
 * with it (bench/lib/month-history.ts), naming its own subjects and ranges.
 */
export async function timeQuestions(
  ch: ClickHouseClient,
  options: {
    rollupPresent: boolean;
    runs: number;
    budgetMs: number;
    raw?: boolean;
    subjects?: QuestionSubjects;
    ranges?: QuestionRanges;
  },
): Promise<QueryTiming[]> {
  const {
    rollupPresent,
    runs,
    budgetMs,
    raw: timeRaw = true,
    subjects = SYNTHETIC_SUBJECTS,
    ranges = SYNTHETIC_RANGES,
  } = options;
  let reads: string[] = [];
  const baseline = new HistoryQueries(ch, { rollups: [MINUTE_ROLLUP] });
  const picked = new HistoryQueries(ch, { onPlan: (tables) => (reads = tables) });
  const out: QueryTiming[] = [];
  for (const question of questions(subjects, ranges)) {
    const raw = async () => {
      const rs = await ch.query({ query: question.sql, query_params: question.params, format: 'JSONEachRow' });
      return rs.json();
    };
    if (timeRaw) out.push((await timeRuns(question.name, 'lt_events', raw, runs, budgetMs)).timing);
    if (!rollupPresent) continue;
    const minute = await timeRuns(question.name, 'lt_rollup_minute', () => question.ask(baseline), runs, budgetMs);
    const rollups = await timeRuns(question.name, 'rollups', () => question.ask(picked), runs, budgetMs);
    const same = sameAnswer(minute.answer, rollups.answer, reads.includes(VIEWER_SKETCHES.table));
    out.push({ ...minute.timing, reads: [MINUTE_ROLLUP.table] }, { ...rollups.timing, reads, sameAnswer: same });
  }
  return out;
}

/** One progress line of a question's timing. */
export function describeTiming(timing: QueryTiming): string {
  return (
    `${timing.table}: ${timing.name}: ` +
    (timing.ms
      ? `p50 ${timing.ms.p50.toFixed(1)} ms, p95 ${timing.ms.p95.toFixed(1)} ms over ${timing.runs} runs`
      : '') +
    (timing.reads && timing.table === 'rollups' ? ` (read ${timing.reads.join(', ')})` : '') +
    (timing.sameAnswer === false ? ' DIFFERENT ANSWER from the minute rollup' : '') +
    (timing.error ? ` ERROR ${timing.error}` : '')
  );
}

export const history: Scenario<HistoryResult> = {
  name: 'history',
  title: 'History query latency over ≥ 10 M events (lt_events; the minute rollup and the rollups HistoryQueries picks)',
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
        `database ${database}; rollups ${rollupPresent ? 'present (filled by their materialized views)' : 'absent: timing lt_events only'}`,
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
      const rollupRows: Record<string, number> = {};
      const tables = await admin.query({
        query: 'SELECT name FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}',
        query_params: { db: database, names: ROLLUPS.map((r) => r.table) },
        format: 'JSONEachRow',
      });
      for (const { name } of await tables.json<{ name: string }>())
        rollupRows[name] = await count(ch, `SELECT count() AS n FROM ${name}`);
      log(
        `lt_events ${fmtInt(rows)} rows${Object.entries(rollupRows)
          .map(([t, n]) => `, ${t} ${fmtInt(n)} rows`)
          .join('')}; loaded in ${loadSeconds.toFixed(1)} s`,
      );

      const queries = await timeQuestions(ch, { rollupPresent, runs, budgetMs: historyQueryBudgetS * 1000 });
      for (const timing of queries) log(describeTiming(timing));
      const worst = (table: HistoryPath) =>
        Math.max(...queries.filter((q) => q.table === table && q.ms).map((q) => q.ms!.p95));
      const compared = queries.filter((q) => q.table === 'rollups');
      return {
        rows,
        rollupRows,
        rollupPresent,
        loadSeconds,
        runsPerQuery: runs,
        queries,
        worstP95Raw: worst('lt_events'),
        worstP95Rollup: rollupPresent ? worst('lt_rollup_minute') : null,
        worstP95Rollups: rollupPresent ? worst('rollups') : null,
        answersMatch: rollupPresent ? compared.every((q) => q.sameAnswer) : null,
      };
    } finally {
      await cleanup();
    }
  },
};
