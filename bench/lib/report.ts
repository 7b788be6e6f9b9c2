import type { CeilingResult } from '../scenarios/ceiling';
import type { CollectorResult } from '../scenarios/collector';
import type { FanoutResult } from '../scenarios/fanout';
import type { HistoryPath, HistoryResult, QueryTiming } from '../scenarios/history';
import type { IngestResult } from '../scenarios/ingest';
import type { LatencyLevel, LatencyResult } from '../scenarios/latency';
import type { MonthResult } from '../scenarios/month';
import type { NaiveResult } from '../scenarios/naive';
import type { CpuUse } from './proc';
import type { Machine, Versions } from './environment';
import { fmtInt, fmtNum } from './log';
import { describeSteps } from './month-recovery';
import { compact, logBarChart, panelsChart, type Panel } from './svg';

export interface Failed {
  error: string;
}

export interface BenchResults {
  schema: 1;
  date: string;
  quick: boolean;
  only: string[] | null;
  durationS: number;
  machine: Machine;
  versions: Versions;
  event: { meanEncodedBytes: number; fixtureEvents: number; partitions: number } | null;
  scenarios: {
    ceiling?: CeilingResult | Failed;
    ingest?: IngestResult | Failed;
    naive?: NaiveResult | Failed;
    latency?: LatencyResult | Failed;
    fanout?: FanoutResult | Failed;
    history?: HistoryResult | Failed;
    collector?: CollectorResult | Failed;
    month?: MonthResult | Failed;
  };
  table: Row[];
}

export interface Row {
  scenario: string;
  measure: string;
  value: string;
  target: string;
  /** met / not met / '' (no target) / n/a (target needs a figure that was not measured). */
  status: string;
}

const ok = <T>(r: T | Failed | undefined): T | undefined => (r && !(r as Failed).error ? (r as T) : undefined);
const status = (met: boolean | null) => (met === null ? 'n/a' : met ? 'met' : 'not met');
const ms = (v: number) => (Number.isFinite(v) ? `${fmtInt(v)} ms` : '–');

/** The targets of the issue, side by side with the figures. */
export const TARGETS = {
  ingestVsCeiling: 0.7,
  ingestVsNaive: 50,
  e2eP99AtHalfMs: 1000,
  e2eP99AtQuarterMs: 500,
  fanoutClients: 10_000,
  fanoutP99Ms: 250,
  historyP95Ms: 100,
  monthMinutes: 60,
  /** The month's pipeline CPU per counted event (workers, Redis, ClickHouse, Kafka) over the bare consumer's. */
  monthCpuVsBare: 2.5,
  recoveryMinutes: 10,
};

/** CPU µs per event of a process that used `percent` of a core while `eventsPerSec` were processed. */
function microsPerEvent(percent: number, eventsPerSec: number): number {
  return (percent / 100) * (1e6 / eventsPerSec);
}

/**
 * Where the CPU went, per event: each process's share of a core over the measured
 * window, divided by the events that window processed. On two shared cores this shows
 * what limits a figure (the stores' work, not only the worker's).
 */
function cpuPerEvent(cpu: CpuUse | undefined, eventsPerSec: number): string | null {
  if (!cpu || !(eventsPerSec > 0) || Object.keys(cpu.perProcess).length === 0) return null;
  const parts = Object.entries(cpu.perProcess)
    .filter(([, percent]) => Number.isFinite(percent))
    .map(([name, percent]) => `${name} ${fmtNum(microsPerEvent(percent, eventsPerSec), 1)}`);
  return parts.length > 0 ? parts.join(', ') : null;
}

export function buildTable(r: BenchResults): Row[] {
  const rows: Row[] = [];
  const s = r.scenarios;
  const add = (scenario: string, measure: string, value: string, target = '', st = '') =>
    rows.push({ scenario, measure, value, target, status: st });
  for (const [name, v] of Object.entries(s))
    if (v && (v as Failed).error) add(name, 'FAILED', (v as Failed).error.split('\n')[0]!.slice(0, 120));

  const ceiling = ok(s.ceiling);
  const ingest = ok(s.ingest);
  const naive = ok(s.naive);
  if (ceiling) {
    const rounds = (xs: { eventsPerSec: number }[]) =>
      xs.length > 1 ? ` (rounds: ${xs.map((x) => fmtInt(x.eventsPerSec)).join(', ')})` : '';
    const kafkajs = ceiling.clients?.find((c) => c.id === 'kafkajs');
    add(
      'ceiling',
      `bare kafkajs consumer, 1 process${kafkajs && kafkajs.samples.length > 1 ? ', median' : ''}`,
      `${fmtInt(ceiling.eventsPerSec)} events/s${rounds(kafkajs?.samples ?? [])}`,
    );
    for (const c of ceiling.clients ?? []) {
      if (c.id === 'kafkajs') continue;
      add(
        'ceiling',
        `${c.label}, 1 process${c.samples.length > 1 ? ', median' : ''}`,
        `${fmtInt(c.eventsPerSec)} events/s, ${fmtNum(c.eventsPerSec / ceiling.eventsPerSec, 2)}× kafkajs${rounds(c.samples)}`,
      );
    }
    for (const c of ceiling.skipped ?? []) add('ceiling', c.label, `not run: ${c.reason}`);
  }
  const one = ingest?.runs.find((x) => x.workers === 1);
  for (const run of ingest?.runs ?? []) {
    const vsCeiling = ceiling && run.workers === 1 ? run.eventsPerSec / ceiling.eventsPerSec : null;
    add(
      'ingest',
      `${run.workers} worker process${run.workers > 1 ? 'es' : ''}: total (per process)`,
      `${fmtInt(run.eventsPerSec)} events/s (${fmtInt(run.perWorkerEventsPerSec)})${run.exact ? '' : ' NOT EXACT'}${run.complete ? '' : ' INCOMPLETE'}`,
      run.workers === 1
        ? `≥ 70% of ceiling${ceiling ? ` (≥ ${fmtInt(TARGETS.ingestVsCeiling * ceiling.eventsPerSec)})` : ''}`
        : '',
      run.workers === 1
        ? status(vsCeiling === null ? null : vsCeiling >= TARGETS.ingestVsCeiling) +
            (vsCeiling !== null ? ` (${Math.round(vsCeiling * 100)}%)` : '')
        : '',
    );
    if (run.steadyEventsPerSec && run.workers > 1)
      add('ingest', `${run.workers} workers once the group was stable`, `${fmtInt(run.steadyEventsPerSec)} events/s`);
    const perEvent = cpuPerEvent(run.cpu, run.eventsPerSec);
    if (perEvent)
      add('ingest', `${run.workers} worker${run.workers > 1 ? 's' : ''}: CPU µs per event by process`, perEvent);
  }
  if (ceiling) {
    const perEvent = cpuPerEvent(ceiling.cpu, ceiling.eventsPerSec);
    if (perEvent) add('ceiling', 'bare kafkajs consumer: CPU µs per event by process', perEvent);
  }
  if (naive) {
    add('naive', 'eachMessage + per-event MULTI + insert', `${fmtNum(naive.eventsPerSec)} events/s`);
    if (one) {
      const ratio = one.eventsPerSec / naive.eventsPerSec;
      add(
        'ingest',
        '1 worker vs naive',
        `${fmtNum(ratio, 0)}×`,
        `≥ ${TARGETS.ingestVsNaive}×`,
        status(ratio >= TARGETS.ingestVsNaive),
      );
    }
  } else if (one) add('ingest', '1 worker vs naive', '–', `≥ ${TARGETS.ingestVsNaive}×`, 'n/a');

  const latency = ok(s.latency);
  for (const l of latency?.levels ?? []) {
    const target =
      l.tickMs !== 1000 || l.baseline
        ? undefined
        : l.fraction === 0.5
          ? TARGETS.e2eP99AtHalfMs
          : l.fraction === 0.25
            ? TARGETS.e2eP99AtQuarterMs
            : undefined;
    add(
      'latency',
      `tick ${l.tickMs} ms, ${Math.round(l.fraction * 100)}% (${fmtInt(l.producedRate)}/s)${niceNote(l)}: p50 / p95 / p99`,
      `${ms(l.latencyMs.p50)} / ${ms(l.latencyMs.p95)} / ${ms(l.latencyMs.p99)}${l.unseen > 0 ? ` (${l.unseen} unseen)` : ''}`,
      target ? `p99 < ${ms(target)} at ${Math.round(l.fraction * 100)}%` : '',
      target ? status(l.unseen === 0 && l.latencyMs.p99 < target) : '',
    );
    const inserts = l.ingest.reduce((n, w) => n + (w.clickhouseInserts ?? 0), 0);
    const rows = l.ingest.reduce(
      (n, w) => n + (w.clickhouseInserts ?? 0) * (Number.isFinite(w.meanRowsPerInsert) ? w.meanRowsPerInsert : 0),
      0,
    );
    add(
      'latency',
      `  ClickHouse at that level: inserts/s per worker; rows per insert`,
      `${fmtNum(inserts / Math.max(1, l.ingest.length) / Math.max(1, l.seconds), 1)}; ${inserts > 0 ? fmtInt(rows / inserts) : '–'}`,
    );
  }

  const fan = ok(s.fanout);
  const largest = fan?.levels[fan.levels.length - 1];
  for (const l of fan?.levels ?? []) {
    const isTarget = l === largest;
    const full = l.clients >= TARGETS.fanoutClients;
    add(
      'fanout',
      `${fmtInt(l.clients)} clients: delivery lag p50 / p99 (fan-out p99)`,
      `${ms(l.deliveryLagMs.p50)} / ${ms(l.deliveryLagMs.p99)} (${ms(l.fanoutLagMs.p99)})`,
      isTarget ? `10k clients, p99 < ${TARGETS.fanoutP99Ms} ms` : '',
      isTarget
        ? full
          ? status(l.deliveryLagMs.p99 < TARGETS.fanoutP99Ms)
          : `n/a (largest level ${fmtInt(l.clients)})`
        : '',
    );
    add(
      'fanout',
      `${fmtInt(l.clients)} clients: gateway RSS, per connection`,
      `${fmtNum(l.rssAfterMiB, 0)} MiB, ${fmtNum(l.rssPerConnectionKiB)} KiB`,
    );
  }

  const hist = ok(s.history);
  if (hist) addHistoryRows('history', '', hist, add);

  const coll = ok(s.collector);
  if (coll) {
    if (!coll.available) add('collector', 'HTTP collector load', `not run: ${coll.note ?? ''}`);
    else {
      const res = coll.result ?? {};
      const rate = Number(res.eventsPerSec ?? res.requestsPerSec);
      const p99 = Number(res.p99Ms);
      const p50 = Number(res.p50Ms);
      add(
        'collector',
        'HTTP collector: accepted events/s; request p50 / p99',
        `${Number.isFinite(rate) ? `${fmtInt(rate)} events/s` : '–'}; ${Number.isFinite(p50) ? `${fmtNum(p50)} ms` : '–'} / ${Number.isFinite(p99) ? `${fmtNum(p99)} ms` : '–'}${coll.note ? ` (${coll.note})` : ''}`,
      );
    }
  }
  addMonthRows(ok(s.month), ceiling, add);
  return rows;
}

const HISTORY_PATHS: Record<HistoryPath, string> = {
  lt_events: 'raw',
  lt_rollup_minute: 'minute rollup (baseline)',
  rollups: 'rollups picked',
};

/** Each history question's p50 / p95 against the target, and whether the rollups answered as the minute rollup did. */
function addHistoryRows(
  scenario: string,
  prefix: string,
  hist: { queries: QueryTiming[]; runsPerQuery: number; answersMatch: boolean | null },
  add: (scenario: string, measure: string, value: string, target?: string, st?: string) => void,
): void {
  for (const q of hist.queries) {
    add(
      scenario,
      `${prefix}${HISTORY_PATHS[q.table]}: ${q.name}: p50 / p95`,
      q.ms
        ? `${fmtNum(q.ms.p50)} / ${fmtNum(q.ms.p95)} ms${q.runs < hist.runsPerQuery ? ` (${q.runs} runs)` : ''}`
        : `ERROR ${q.error ?? ''}`.slice(0, 100),
      `p95 < ${TARGETS.historyP95Ms} ms`,
      q.ms && !q.error ? status(q.ms.p95 < TARGETS.historyP95Ms) : 'n/a',
    );
  }
  if (typeof hist.answersMatch === 'boolean')
    add(
      scenario,
      `${prefix}rollups picked: every answer = the minute rollup's`,
      hist.answersMatch ? 'yes' : 'NO',
      'yes',
      status(hist.answersMatch),
    );
}

/**
 * The month's CPU per counted event in the processes a pipeline without a producer or a
 * gateway runs (workers, Redis, ClickHouse, Kafka) against the bare consumer's (its own
 * process and Kafka), both from the same run; null when the ceiling has no CPU figures.
 */
export function pipelineCpuVsBare(
  monthMicrosPerEvent: Readonly<Record<string, number>>,
  ceiling: Pick<CeilingResult, 'cpu' | 'eventsPerSec'>,
): { pipeline: number; bare: number; ratio: number } | null {
  const { consumer = 0, kafka = 0 } = ceiling.cpu.perProcess;
  const bare = microsPerEvent(consumer + kafka, ceiling.eventsPerSec);
  if (!(bare > 0) || !Number.isFinite(bare)) return null;
  let pipeline = 0;
  for (const [name, us] of Object.entries(monthMicrosPerEvent))
    if (/^worker\d+$/.test(name) || ['redis', 'clickhouse', 'kafka'].includes(name)) pipeline += us;
  return { pipeline, bare, ratio: pipeline / bare };
}

/** The month scenario: what it played, how fast, what it cost, and whether every figure was exact. */
function addMonthRows(
  month: MonthResult | undefined,
  ceiling: CeilingResult | undefined,
  add: (scenario: string, measure: string, value: string, target?: string, st?: string) => void,
): void {
  if (!month) return;
  const mib = (b: number) => `${fmtNum(b / 2 ** 20)} MiB`;
  add(
    'month',
    `Shenzhen's month at scale ${month.scale}: events, wall time, events/s`,
    `${fmtInt(month.events)} events, ${fmtNum(month.wallS)} s, ${fmtInt(month.eventsPerSec)} events/s (producer alone ${fmtInt(month.produceEventsPerSec)}/s, ${month.producerClient ?? 'kafkajs'})${month.dedupBucketsPerHour === undefined ? '' : `; ${fmtInt(month.dedupBucketsPerHour)} fingerprint buckets an hour`}`,
    month.scale === 1 ? `< ${TARGETS.monthMinutes} min` : '',
    month.scale === 1 ? status(month.wallS < TARGETS.monthMinutes * 60) : '',
  );
  add(
    'month',
    'every figure on REST, WebSocket, campaign and history APIs = plan',
    [
      ...month.check.rows.filter((r) => !r.exact).map((r) => `${r.figure} differs`),
      ...Object.keys(month.check.errors).map((source) => `${source} gave no figures`),
    ].join(', ') || `exact (${fmtInt(month.plan.salesFen / 100)} yuan, ${fmtInt(month.plan.views)} views)`,
    'exact',
    status(month.exact),
  );
  add(
    'month',
    'CPU µs per event by process',
    Object.entries(month.cpuMicrosPerEvent)
      .map(([name, us]) => `${name} ${fmtNum(us)}`)
      .join(', '),
  );
  const vsBare = ceiling ? pipelineCpuVsBare(month.cpuMicrosPerEvent, ceiling) : null;
  add(
    'month',
    "pipeline CPU per event (workers + Redis + ClickHouse + Kafka) ÷ the bare consumer's (consumer + Kafka), same run",
    vsBare
      ? `${fmtNum(vsBare.pipeline)} µs ÷ ${fmtNum(vsBare.bare)} µs = ${fmtNum(vsBare.ratio, 2)}×`
      : 'the ceiling scenario did not run (--only ceiling,month)',
    `≤ ${TARGETS.monthCpuVsBare}×`,
    vsBare ? status(vsBare.ratio <= TARGETS.monthCpuVsBare) : 'n/a',
  );
  add(
    'month',
    'Redis keys, MEMORY USAGE (used_memory peak); ClickHouse rows, bytes on disk',
    `${month.redis.complete === false ? 'at least ' : ''}${fmtInt(month.redis.keys)} keys, ${mib(month.redis.bytes)}` +
      `${month.footprint?.redisUsedMemoryPeakBytes ? ` (${mib(month.footprint.redisUsedMemoryPeakBytes)})` : ''}; ` +
      `${fmtInt(month.clickhouse.rows)} rows, ${mib(month.clickhouse.bytesOnDisk)}`,
  );
  if (month.history) addHistoryRows('month', 'history over the month: ', month.history, add);
  addRecoveryRows(month, add);
}

/** The month's recovery phase: rebuild and reconcile against the 10-minute target, their steps, and the figures again. */
function addRecoveryRows(
  month: MonthResult,
  add: (scenario: string, measure: string, value: string, target?: string, st?: string) => void,
): void {
  const r = month.recovery;
  if (!r) return;
  const target = `< ${TARGETS.recoveryMinutes} min each`;
  const exit = (code: number | string) => (code === 0 ? '' : ` (exit ${code})`);
  add(
    'month',
    `Redis lost: rebuild / reconcile at scale ${month.scale} (${fmtInt(r.rows)} rows, ${fmtInt(r.rebuild.scopes ?? 0)} scopes)`,
    `${fmtNum(r.rebuild.seconds)} s${exit(r.rebuild.exitCode)} / ${fmtNum(r.reconcile.seconds)} s${exit(r.reconcile.exitCode)}`,
    target,
    status(r.withinTarget),
  );
  add('month', 'rebuild steps', describeSteps(r.rebuild.stepsS));
  add(
    'month',
    'rebuild: resend fingerprints restored',
    `${fmtInt(r.rebuild.fingerprints ?? 0)}: rows of the last ${fmtInt(r.fingerprintWindow.windowMs)} ms of the replay (busiest hour ${fmtInt(r.fingerprintWindow.busiestHourRows)} rows at its pace; the workers' ${fmtNum((r.fingerprintWindow.workersWindowMs ?? 3_600_000) / 1000)} s window would hold ${fmtInt(r.fingerprintWindow.rowsInWorkersWindow ?? r.fingerprintWindow.rowsInDefaultWindow ?? 0)})`,
  );
  add('month', 'reconcile steps', describeSteps(r.reconcile.stepsS));
  add(
    'month',
    'after the rebuild: reconcile agrees, REST and WebSocket = plan',
    [
      r.reconcile.agree ? '' : `reconcile: ${r.reconcile.differences ?? '?'} scope(s) differ`,
      ...r.check.rows.filter((row) => !row.exact).map((row) => `${row.figure} differs`),
      ...Object.keys(r.check.errors).map((source) => `${source} gave no figures`),
    ]
      .filter(Boolean)
      .join(', ') || `exact (${fmtInt(r.reconcile.compared ?? 0)} scopes agree)`,
    'exact',
    status(r.exact),
  );
}

export function formatTable(rows: Row[]): string {
  const head: Row = { scenario: 'scenario', measure: 'measure', value: 'value', target: 'target', status: 'status' };
  const cols = ['scenario', 'measure', 'value', 'target', 'status'] as const;
  const width = Object.fromEntries(
    cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))]),
  ) as Record<(typeof cols)[number], number>;
  const line = (r: Row) =>
    cols
      .map((c) => r[c].padEnd(width[c]))
      .join('  ')
      .trimEnd();
  return [line(head), cols.map((c) => '-'.repeat(width[c])).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| scenario | measure | value | target | status |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| ${cell(r.scenario)} | ${cell(r.measure)} | ${cell(r.value)} | ${cell(r.target)} | ${cell(r.status)} |`,
    ),
  ].join('\n');
}

export function describeSetup(r: BenchResults): string[] {
  const m = r.machine;
  const v = r.versions;
  return [
    `${r.date.slice(0, 10)}${r.quick ? ' (quick run)' : ''} · ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os} · load avg at start ${m.loadAverageAtStart}`,
    `Node ${v.node}, kafkajs ${v.kafkajs}, Kafka ${v.kafka}, Redis ${v.redis}, ClickHouse ${v.clickhouse} (chDB ${v.chdb})${r.event ? ` · mean event ${Math.round(r.event.meanEncodedBytes)} B` : ''}`,
  ];
}

export function throughputSvg(r: BenchResults): string {
  const ceiling = ok(r.scenarios.ceiling);
  const ingest = ok(r.scenarios.ingest);
  const naive = ok(r.scenarios.naive);
  const bars = [
    { label: 'Ceiling: bare kafkajs consumer', value: ceiling?.eventsPerSec ?? NaN, color: '#6b7280' },
    ...(ceiling?.clients ?? [])
      .filter((c) => c.id !== 'kafkajs')
      .map((c) => ({
        label: c.id === 'confluent' ? 'Bare confluent-kafka-javascript' : 'Same, unbounded batches',
        value: c.eventsPerSec,
        color: '#9ca3af',
      })),
    ...(ingest?.runs ?? []).map((x, i) => ({
      label: `LiveTally ingest, ${x.workers} worker${x.workers > 1 ? 's' : ''}`,
      value: x.eventsPerSec,
      note: x.workers > 1 ? `(${compact(x.perWorkerEventsPerSec)}/worker)` : '',
      color: ['#2563eb', '#1d4ed8', '#1e40af'][i] ?? '#2563eb',
    })),
    { label: 'Naive: per-event writes', value: naive?.eventsPerSec ?? NaN, color: '#dc2626' },
  ];
  return logBarChart({
    title: 'Ingest throughput (events/s, higher is better)',
    subtitle: [
      ...describeSetup(r),
      `${r.event ? fmtInt(r.event.fixtureEvents) : '?'} pre-produced events, 12 partitions; ingest = decode, validate, dedup, ClickHouse insert + Redis apply per batch`,
    ],
    unit: 'events/s',
    bars,
    ...(ceiling
      ? { reference: { value: TARGETS.ingestVsCeiling * ceiling.eventsPerSec, label: 'target: 70% of ceiling' } }
      : {}),
  });
}

/** Which ClickHouse priority a latency level ran with, where the stand-in is the stack's own. */
function niceNote(l: LatencyLevel): string {
  if (l.clickhouseNice === undefined) return '';
  return l.baseline ? `, ClickHouse nice ${l.clickhouseNice} (baseline)` : `, ClickHouse nice ${l.clickhouseNice}`;
}

export function latencySvg(r: BenchResults): string {
  const latency = ok(r.scenarios.latency);
  const fan = ok(r.scenarios.fanout);
  const panels: Panel[] = [];
  panels.push({
    title: 'End to end: produce → WebSocket frame',
    unit: 'ms',
    series: ['p50', 'p95', 'p99'],
    groups: (latency?.levels ?? []).map((l) => ({
      label: `${l.tickMs} ms tick${l.baseline ? ', CH nice 0' : ''}\n${Math.round(l.fraction * 100)}% · ${compact(l.producedRate)}/s`,
      values: [l.latencyMs.p50, l.latencyMs.p95, l.latencyMs.p99],
    })),
    reference: { value: TARGETS.e2eP99AtHalfMs, label: 'target p99 < 1 s at 50% (1000 ms tick)' },
    width: Math.max(420, 110 * (latency?.levels.length ?? 0) + 60),
  });
  panels.push({
    title: `Gateway fan-out: apply → frame (tick ${fan?.tickMs ?? '?'} ms)`,
    unit: 'ms',
    series: ['p50', 'p99', 'fan-out p99'],
    groups: (fan?.levels ?? []).map((l) => ({
      label: `${compact(l.clients)} clients\n${Math.round(l.rssPerConnectionKiB)} KiB/conn`,
      values: [l.deliveryLagMs.p50, l.deliveryLagMs.p99, l.fanoutLagMs.p99],
    })),
    reference: { value: TARGETS.fanoutP99Ms, label: 'target p99 < 250 ms at 10k' },
    width: Math.max(380, 130 * (fan?.levels.length ?? 0) + 60),
  });
  return panelsChart({ title: 'Latency (ms, lower is better)', subtitle: describeSetup(r), panels });
}
