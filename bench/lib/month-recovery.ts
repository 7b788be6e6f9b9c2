import type { Redis } from 'ioredis';
import { runCli, type CliResult } from '../../tests/support/cli';
import { fmtInt, fmtNum } from './log';
import type { MonthCheck } from './month-check';
import { benchClickhouse, deletePrefix } from './stores';

/**
 * The month scenario's recovery phase: after the exactness check, Redis loses every key
 * of the run (the workers keep running, as docs/operations.md has operators do), the
 * real `rebuild` command restores the live state from ClickHouse, the real `reconcile`
 * compares it, and the live figures are checked against the plan again. Both commands
 * run as child processes with the workers' environment, each bounded in time.
 */

/** Issue 14: rebuild and reconcile each within 10 minutes at the month's size. */
export const RECOVERY_TARGET_S = 600;
/** Each command is stopped after three times the target: the run reports it, it does not hang. */
const COMMAND_TIMEOUT_MS = 3 * RECOVERY_TARGET_S * 1000;
const HOUR_MS = 3_600_000;
/** The workers' dedup window when their environment does not set one (INGEST_DEDUP_WINDOW_SECONDS). */
const DEFAULT_DEDUP_WINDOW_S = 3_600;

/**
 * Which resend fingerprints the rebuild restored, and why that many. The replay ingests
 * 70 days in a few hours at most, so the workers' 1-hour dedup window holds all (or half)
 * of the month, where on the real month it holds the last hour's events. The rebuild runs
 * with REBUILD_FINGERPRINT_WINDOW_MS set to the month's busiest hour at the replay's pace.
 */
export interface FingerprintWindow {
  /** REBUILD_FINGERPRINT_WINDOW_MS given to the rebuild: ingest span × busiestHourRows ÷ rows. */
  windowMs: number;
  /** First to last row stored (ingested_at), ms. */
  ingestSpanMs: number;
  /** Rows of the month's busiest event hour; and of an average hour (rows ÷ the month's hours). */
  busiestHourRows: number;
  averageHourRows: number;
  /** The workers' window (INGEST_DEDUP_WINDOW_SECONDS), ms, and the rows it holds before the newest: what the rebuild would restore without the setting. */
  workersWindowMs: number;
  rowsInWorkersWindow: number;
  /** Results before the workers' window was set: the rows of the default hour. */
  rowsInDefaultWindow?: number;
  note: string;
}

export interface CommandRun {
  seconds: number;
  exitCode: number | string;
  /** The command's own step timings, seconds. */
  stepsS: Record<string, number>;
}

export interface MonthRecovery {
  /** Keys deleted under the run's prefix (Redis "lost everything"). */
  deletedKeys: number;
  /** lt_events rows of the month's topic. */
  rows: number;
  targetS: number;
  rebuild: CommandRun & {
    scopes: number | null;
    partitions: number | null;
    fingerprints: number | null;
    campaigns: number | null;
    measures: Record<string, unknown> | null;
  };
  fingerprintWindow: FingerprintWindow;
  reconcile: CommandRun & { agree: boolean; compared: number | null; differences: number | null };
  /** The live read paths (REST, WebSocket) against the plan after the rebuild. */
  check: MonthCheck;
  /** Rebuild and reconcile each finished (exit 0) within the target. */
  withinTarget: boolean;
  /** Rebuild succeeded, reconcile agrees and every live figure equals the plan again. */
  exact: boolean;
}

export interface RecoveryInput {
  redis: Redis;
  /** Key prefix and ClickHouse database of the run. */
  run: string;
  topic: string;
  /** The month's event-time span, ms (its hours make the average hour). */
  monthMs: number;
  /** The workers' environment: the commands run with it. */
  workerEnv: Record<string, string>;
  /** The live figures against the plan, read again after the rebuild. */
  checkLive(): Promise<MonthCheck>;
  log(message: string): void;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const seconds = (ms: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(ms ?? {}).map(([k, v]) => [k, Math.round(v) / 1000]));

async function fingerprintWindow(
  run: string,
  topic: string,
  monthMs: number,
  workersWindowMs: number,
): Promise<FingerprintWindow & { rows: number }> {
  const ch = benchClickhouse(run, COMMAND_TIMEOUT_MS);
  try {
    const one = async <T>(query: string) => {
      const rs = await ch.query({ query, query_params: { topic }, format: 'JSONEachRow' });
      return (await rs.json<T>())[0]!;
    };
    const span = await one<{ rows: string; first: string; last: string; recent: string }>(
      `SELECT count() AS rows, toUnixTimestamp64Milli(min(ingested_at)) AS first, toUnixTimestamp64Milli(max(ingested_at)) AS last,
        countIf(ingested_at >= (SELECT max(ingested_at) FROM lt_events WHERE topic = {topic:String}) - toIntervalMillisecond(${workersWindowMs})) AS recent
       FROM lt_events WHERE topic = {topic:String}`,
    );
    const hours = await one<{ busiest: string }>(
      'SELECT max(c) AS busiest FROM (SELECT count() AS c FROM lt_events WHERE topic = {topic:String} GROUP BY toStartOfHour(ts))',
    );
    const rows = Number(span.rows);
    const ingestSpanMs = Number(span.last) - Number(span.first);
    const busiestHourRows = Number(hours.busiest);
    const windowMs = Math.max(1, Math.round((ingestSpanMs * busiestHourRows) / Math.max(1, rows)));
    return {
      rows,
      windowMs,
      ingestSpanMs,
      busiestHourRows,
      averageHourRows: Math.round(rows / (monthMs / HOUR_MS)),
      workersWindowMs,
      rowsInWorkersWindow: Number(span.recent),
      note:
        `the replay stored ${fmtInt(rows)} rows in ${fmtNum(ingestSpanMs / 1000)} s, so the workers' ${fmtNum(workersWindowMs / 1000)} s window holds ${fmtInt(Number(span.recent))} of them; ` +
        `the rebuild restores the fingerprints of the last ${windowMs} ms of the replay instead: the month's busiest hour (${fmtInt(busiestHourRows)} rows) at the replay's pace, what a real month's last hour holds at most ` +
        `(a worker's insert stores its rows with one ingested_at, so whole inserts count: more rows than that, at small scales many more)`,
    };
  } finally {
    await ch.close();
  }
}

/** Runs a command with `--json`, its progress into the log; the parsed JSON (null if none) and the timing. */
async function command(
  name: 'rebuild' | 'reconcile',
  env: Record<string, string>,
  log: (m: string) => void,
): Promise<{ result: CliResult; json: Record<string, unknown> | null }> {
  let pending = '';
  const result = await runCli(name, ['--json'], env, COMMAND_TIMEOUT_MS, (text) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.trim()) log(`  ${line}`);
  });
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    log(`${name}: no JSON result (exit ${result.code}): ${result.stdout.slice(-500)}`);
  }
  return { result, json };
}

/**
 * Redis loses every key of the run and the real `rebuild` restores them from ClickHouse:
 * the recovery phase's first half, and what a resumed run does first when a hard stop
 * came during that phase.
 */
export async function loseAndRebuild(input: Omit<RecoveryInput, 'checkLive'>) {
  const { log } = input;
  const deletedKeys = await deletePrefix(input.redis, input.run);
  log(`recovery: Redis lost every key of the run (${fmtInt(deletedKeys)} deleted); the workers keep running`);
  const workersWindowS = Number(input.workerEnv.INGEST_DEDUP_WINDOW_SECONDS ?? DEFAULT_DEDUP_WINDOW_S);
  const window = await fingerprintWindow(input.run, input.topic, input.monthMs, workersWindowS * 1000);
  log(`recovery: ${window.note}`);
  const env = {
    ...input.workerEnv,
    REBUILD_VERIFY: 'false', // reconcile is run and timed on its own below
    REBUILD_FINGERPRINT_WINDOW_MS: String(window.windowMs),
    // A whole-month query may take minutes at scale 1; the commands' default is 60 s.
    CLICKHOUSE_REQUEST_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
  };

  const rebuilt = await command('rebuild', env, log);
  const r = rebuilt.json as {
    seconds?: number;
    scopes?: number;
    partitions?: number;
    fingerprints?: number;
    campaigns?: number | null;
    measures?: Record<string, unknown> | null;
    timingsMs?: Record<string, number>;
  } | null;
  const rebuild = {
    seconds: round1(rebuilt.result.ms / 1000),
    exitCode: rebuilt.result.code,
    stepsS: seconds(r?.timingsMs),
    scopes: r?.scopes ?? null,
    partitions: r?.partitions ?? null,
    fingerprints: r?.fingerprints ?? null,
    campaigns: r?.campaigns ?? null,
    measures: r?.measures ?? null,
  };
  log(
    `recovery: rebuild exit ${rebuild.exitCode} in ${fmtNum(rebuild.seconds)} s (process; ${fmtNum(r?.seconds ?? NaN)} s in the command): ${fmtInt(rebuild.scopes ?? 0)} scopes, ${fmtInt(rebuild.fingerprints ?? 0)} fingerprints; steps ${describeSteps(rebuild.stepsS)}`,
  );
  return { deletedKeys, window, rebuild };
}

export async function recoverMonth(input: RecoveryInput): Promise<MonthRecovery> {
  const { log } = input;
  const { deletedKeys, window, rebuild } = await loseAndRebuild(input);

  const reconciled = await command('reconcile', input.workerEnv, log);
  const c = reconciled.json as {
    agree?: boolean;
    comparison?: { compared: number; differences: unknown[] } | null;
    timingsMs?: Record<string, number>;
  } | null;
  const reconcile = {
    seconds: round1(reconciled.result.ms / 1000),
    exitCode: reconciled.result.code,
    stepsS: seconds(c?.timingsMs),
    agree: c?.agree === true,
    compared: c?.comparison?.compared ?? null,
    differences: c?.comparison ? c.comparison.differences.length : null,
  };
  log(
    `recovery: reconcile exit ${reconcile.exitCode} in ${fmtNum(reconcile.seconds)} s: ${reconcile.agree ? 'agrees' : 'DIFFERS'} (${fmtInt(reconcile.compared ?? 0)} scopes compared); steps ${describeSteps(reconcile.stepsS)}`,
  );

  const check = await input.checkLive();
  const ok = (run: CommandRun) => run.exitCode === 0 && run.seconds < RECOVERY_TARGET_S;
  return {
    deletedKeys,
    rows: window.rows,
    targetS: RECOVERY_TARGET_S,
    rebuild,
    fingerprintWindow: {
      windowMs: window.windowMs,
      ingestSpanMs: window.ingestSpanMs,
      busiestHourRows: window.busiestHourRows,
      averageHourRows: window.averageHourRows,
      workersWindowMs: window.workersWindowMs,
      rowsInWorkersWindow: window.rowsInWorkersWindow,
      note: window.note,
    },
    reconcile,
    check,
    withinTarget: ok(rebuild) && ok(reconcile),
    exact: rebuild.exitCode === 0 && reconcile.agree && check.exact,
  };
}

/** Steps of a command, largest first: `uniqueViewers 12.3 s, totals 4.5 s, …`. */
export function describeSteps(stepsS: Record<string, number>): string {
  return (
    Object.entries(stepsS)
      .sort((a, b) => b[1] - a[1])
      .map(([name, s]) => `${name} ${fmtNum(s)} s`)
      .join(', ') || '–'
  );
}
