/**
 * npm run bench — throughput, latency and fan-out measured side by side against
 * baselines, on the real local stack. See docs/benchmarks.md.
 *
 *   npm run bench                       full run (~10-15 min)
 *   npm run bench -- --quick            smaller counts, a few-minute smoke run
 *   npm run bench -- --only ingest,latency
 *   npm run bench -- --from bench-results/results.json    re-render table and charts only
 *
 * Prints progress lines (stderr) and a table (stdout); writes bench-results/results.json,
 * a dated copy, results.md and the SVG charts (also to docs/bench/ on a full run).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Cleanups } from './lib/cleanups';
import type { BenchContext, Fixture, Scenario } from './lib/context';
import { machine, versions } from './lib/environment';
import { benchKafka } from './lib/kafka';
import { elapsedS, progress } from './lib/log';
import { parseOptions, SCENARIO_NAMES, type BenchOptions, type ScenarioName } from './lib/options';
import { buildTable, formatTable, latencySvg, markdownTable, throughputSvg, type BenchResults } from './lib/report';
import { ROOT } from './lib/stack';
import { benchClickhouse, benchRedis } from './lib/stores';
import { ceiling } from './scenarios/ceiling';
import { collector } from './scenarios/collector';
import { fanout } from './scenarios/fanout';
import { produceFixture } from './scenarios/fixture';
import { history } from './scenarios/history';
import { ingest } from './scenarios/ingest';
import { latency } from './scenarios/latency';
import { month } from './scenarios/month';
import { naive } from './scenarios/naive';

const SCENARIOS: Record<ScenarioName, Scenario> = {
  ceiling,
  ingest,
  naive,
  latency,
  fanout,
  history,
  collector,
  month,
};

/** Writes the JSON (and a dated copy when fresh), results.md and the charts; prints the table. */
function publish(results: BenchResults, opts: BenchOptions, fresh: boolean): void {
  results.table = buildTable(results);
  const outDir = join(ROOT, opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  if (fresh) {
    const stamp = results.date.replace(/[:]/g, '-').replace(/\..*$/, '');
    writeFileSync(join(outDir, 'results.json'), json);
    writeFileSync(join(outDir, `results-${stamp}${results.quick ? '-quick' : ''}.json`), json);
  }
  writeFileSync(join(outDir, 'results.md'), `${markdownTable(results.table)}\n`);
  const charts = { 'throughput.svg': throughputSvg(results), 'latency.svg': latencySvg(results) };
  const fullRun = !results.quick && !results.only;
  const chartDirs = [outDir, ...((opts.chartsFlag ?? fullRun) ? [join(ROOT, opts.chartsDir)] : [])];
  for (const dir of chartDirs) {
    mkdirSync(dir, { recursive: true });
    for (const [file, svg] of Object.entries(charts)) writeFileSync(join(dir, file), svg);
  }
  const m = results.machine;
  const v = results.versions;
  process.stdout.write(
    [
      '',
      `LiveTally benchmark — ${results.date}${results.quick ? ' (QUICK run: small counts, figures are indicative only)' : ''}, ${results.durationS} s`,
      `machine:  ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os} (${m.kernel}); load average at start ${m.loadAverageAtStart}`,
      `versions: node ${v.node}, kafkajs ${v.kafkajs}, Kafka ${v.kafka}, Redis ${v.redis}, ClickHouse ${v.clickhouse} via chDB ${v.chdb}, ioredis ${v.ioredis}, ws ${v.ws}${v.confluentKafkaJavascript && v.confluentKafkaJavascript !== 'not installed' ? `, @confluentinc/kafka-javascript ${v.confluentKafkaJavascript}` : ''}`,
      `events:   ${results.event ? `mean ${results.event.meanEncodedBytes} encoded bytes (JSON), ${results.event.fixtureEvents} pre-produced over ${results.event.partitions} partitions` : 'no pre-produced topic in this run'}`,
      '',
      formatTable(results.table),
      '',
      `results: ${fresh ? `${join(opts.outDir, 'results.json')} (+ dated copy), ` : ''}${join(opts.outDir, 'results.md')}; charts: ${chartDirs.map((d) => d.replace(`${ROOT}/`, '')).join(', ')}`,
      '',
    ].join('\n'),
  );
}

let opts: BenchOptions;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}

if (opts.from) {
  const results = JSON.parse(readFileSync(resolve(opts.from), 'utf8')) as BenchResults;
  publish(results, opts, false);
  process.exit(0);
}

const cleanups = new Cleanups((err) => progress('cleanup', `failed: ${err.message}`));
const runCleanups = () => cleanups.runAll();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress('bench', `${signal}: cleaning up (again to exit at once)`);
    void runCleanups().finally(() => process.exit(130));
  });
}

const kafka = benchKafka();
const redis = benchRedis();
const ch = benchClickhouse();
let fixture: Promise<Fixture> | undefined;
const ctx: BenchContext = {
  opts,
  kafka,
  redis,
  ch,
  fixture: () => (fixture ??= produceFixture(ctx, (m) => progress('fixture', m))),
  results: {},
  onCleanup: (step) => cleanups.add(step),
  log: (m) => progress('bench', m),
};

const startedAt = new Date();
const selected = SCENARIO_NAMES.filter((n) => !opts.only || opts.only.includes(n));
progress('bench', `${opts.quick ? 'quick' : 'full'} run: ${selected.join(', ')}`);
const results: BenchResults = {
  schema: 1,
  date: startedAt.toISOString(),
  quick: opts.quick,
  only: opts.only,
  durationS: 0,
  machine: machine(),
  versions: await versions(redis, ch),
  event: null,
  scenarios: {},
  table: [],
};
progress(
  'bench',
  `${results.machine.cpuModel}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB, ${results.machine.os}; load average ${results.machine.loadAverageAtStart}`,
);
progress(
  'bench',
  Object.entries(results.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', '),
);

try {
  for (const name of selected) {
    const scenario = SCENARIOS[name];
    const t0 = elapsedS();
    progress(name, `▶ ${scenario.title}`);
    try {
      const result = await scenario.run(ctx, (m) => progress(name, m));
      ctx.results[name] = result;
      (results.scenarios as Record<string, unknown>)[name] = result;
    } catch (err) {
      const message = (err as Error).stack ?? String(err);
      progress(name, `FAILED: ${message.split('\n').slice(0, 6).join('\n')}`);
      (results.scenarios as Record<string, unknown>)[name] = { error: (err as Error).message };
    }
    progress(name, `done in ${(elapsedS() - t0).toFixed(1)} s`);
    if (interrupted) break;
  }
  if (fixture) {
    const f = await fixture.catch(() => null);
    if (f)
      results.event = {
        meanEncodedBytes: Math.round(f.meanEncodedBytes * 10) / 10,
        fixtureEvents: f.events,
        partitions: f.partitions,
      };
  }
} finally {
  await runCleanups();
  await Promise.allSettled([redis.quit(), ch.close()]);
}

results.durationS = Math.round(elapsedS());
publish(results, opts, true);
// Ctrl-C exits 130 (once every clean-up is done); a failed scenario, or one whose figures are not exact (the month's check), fails the run.
const failed = (s: unknown) => !!s && (!!(s as { error?: string }).error || (s as { exact?: boolean }).exact === false);
process.exit(interrupted ? 130 : Object.values(results.scenarios).some(failed) ? 1 : 0);
