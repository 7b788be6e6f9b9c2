/** Command line of `npm run bench`, and the sizes of a full and a quick run. */

/** Where --update-screenshot puts the month's campaign screen: the README shows it. */
export const MONTH_SCREENSHOT = 'docs/month-campaign.png';

export const SCENARIO_NAMES = [
  'ceiling',
  'ingest',
  'naive',
  'latency',
  'fanout',
  'history',
  'collector',
  'month',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Sizes {
  /** Events in the pre-produced topic the throughput scenarios read. */
  fixtureEvents: number;
  fixturePartitions: number;
  /** Worker process counts the ingest scenario measures. */
  ingestWorkers: number[];
  /** Bound on one throughput run (the fixture must be consumed within it). */
  throughputTimeoutS: number;
  /** Rounds of the ceiling scenario: each client reads the whole topic once per round, interleaved. */
  ceilingRounds: number;
  naiveMaxEvents: number;
  naiveMaxSeconds: number;
  /** Fractions of the measured max ingest rate the latency scenario produces at. */
  latencyLevels: number[];
  latencyLevelSeconds: number;
  latencyTicks: number[];
  fanoutClients: number[];
  fanoutChannels: number;
  fanoutMeasureSeconds: number;
  fanoutApplyEveryMs: number;
  fanoutTickMs: number;
  fanoutClientProcesses: number;
  historyRows: number;
  historyRuns: number;
  /** Time budget per history query: stop early (after at least 3 timed runs) once spent. */
  historyQueryBudgetS: number;
  /** Fraction of the real market the month scenario plays (1: Shenzhen's 286 million events); --month-scale overrides it. */
  monthScale: number;
  monthWorkers: number;
  monthPartitions: number;
  /** Bound on the month scenario's producing and on its wait until everything is applied and stored. */
  monthTimeoutS: number;
}

const FULL: Sizes = {
  fixtureEvents: 300_000,
  fixturePartitions: 12,
  ingestWorkers: [1, 2],
  throughputTimeoutS: 180,
  ceilingRounds: 3,
  naiveMaxEvents: 3_000,
  naiveMaxSeconds: 60,
  latencyLevels: [0.25, 0.5, 0.75],
  latencyLevelSeconds: 20,
  latencyTicks: [1000, 100],
  fanoutClients: [1_000, 5_000, 10_000],
  fanoutChannels: 5,
  fanoutMeasureSeconds: 15,
  fanoutApplyEveryMs: 200,
  fanoutTickMs: 100,
  fanoutClientProcesses: 2,
  historyRows: 10_000_000,
  historyRuns: 30,
  historyQueryBudgetS: 12,
  monthScale: 1,
  monthWorkers: 2,
  monthPartitions: 12,
  monthTimeoutS: 4 * 3_600,
};

const QUICK: Sizes = {
  ...FULL,
  fixtureEvents: 60_000,
  throughputTimeoutS: 90,
  naiveMaxEvents: 400,
  naiveMaxSeconds: 10,
  latencyLevels: [0.5],
  latencyLevelSeconds: 5,
  fanoutClients: [250, 500, 1_000],
  fanoutMeasureSeconds: 4,
  historyRows: 500_000,
  historyRuns: 10,
  historyQueryBudgetS: 4,
  monthScale: 0.0005,
  monthTimeoutS: 600,
};

export interface BenchOptions {
  quick: boolean;
  only: ScenarioName[] | null;
  sizes: Sizes;
  /** Max ingest rate (events/s) the latency scenario assumes when the ingest scenario did not run. */
  maxRate: number | null;
  /** Record CPU profiles (the 1-worker ingest run; the fan-out gateway and clients) and summarise their top self-time functions. */
  profile: boolean;
  outDir: string;
  chartsDir: string;
  /**
   * Also write the charts to docs/bench/ (committed). Default: only for a full run of every
   * scenario, so a quick or partial run never replaces the committed charts; the charts
   * always go to bench-results/ as well.
   */
  docCharts: boolean;
  /** --charts / --no-charts as given (null: neither). */
  chartsFlag: boolean | null;
  /** Run nothing: re-render the table, results.md and charts from this results JSON. */
  from: string | null;
  /** The month scenario also writes its big-screen screenshot to docs/month-campaign.png (the README's). */
  updateScreenshot: boolean;
  /** The month scenario ends with its recovery phase (Redis loses the run's keys; rebuild, reconcile, check again). */
  monthRecovery: boolean;
  /** The month scenario times the history benchmark's questions over its replayed month (bench/lib/month-history.ts). */
  monthHistory: boolean;
  /** The latency scenario also runs its levels at the default tick with the ClickHouse stand-in at niceness 0 (a same-run baseline). */
  latencyBaseline: boolean;
  /** INGEST_DEDUP_BUCKETS_PER_HOUR of the month's workers and rebuild; null: sized to the month (bench/lib/month-dedup.ts). */
  monthDedupBuckets: number | null;
  /** The Kafka client the month's producer plays the platforms with (bench/workers/month-producer.ts). */
  monthProducer: 'platformatic' | 'kafkajs';
  /** Go on with the month run a hard stop interrupted (bench/lib/month-sittings.ts) instead of starting afresh. */
  monthResume: boolean;
  /** Delete the month run a hard stop interrupted and start afresh (without it or --resume, the month refuses to start). */
  monthFresh: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--only <name>[,<name>…]] [--max-rate <events/s>] [--month-scale <s>] [--month-dedup-buckets <n>] [--month-producer platformatic|kafkajs] [--resume|--fresh] [--no-month-recovery] [--no-month-history] [--no-latency-baseline] [--update-screenshot] [--profile] [--charts|--no-charts] [--from <results.json>]
  scenarios: ${SCENARIO_NAMES.join(', ')}
  --quick       smaller counts: a smoke run of a few minutes
  --only        run only these scenarios (repeatable or comma separated)
  --max-rate    events/s the latency scenario scales from when the ingest scenario is not run
  --month-scale fraction of the real market the month scenario plays (default 1: 286 million events; --quick: 0.0005)
  --month-dedup-buckets  INGEST_DEDUP_BUCKETS_PER_HOUR of the month's workers and rebuild (default: sized to the month, about 56 fingerprints a bucket)
  --month-producer  the Kafka client the month's producer plays the platforms with (default platformatic: half kafkajs's CPU an event)
  --resume      go on with the month run a hard stop interrupted (the machine's or a session's end; its state is in bench-results/month-unfinished.json, its data in the stack), instead of starting afresh
  --fresh       delete the month run a hard stop interrupted, and start afresh (with neither, the month refuses to start while one is unfinished)
  --no-month-recovery  skip the month's recovery phase (Redis loses the run's keys; rebuild and reconcile timed; figures checked again)
  --no-month-history   skip the month's history phase (the history benchmark's questions timed over the month's rollups)
  --no-latency-baseline  skip the latency levels run again with the ClickHouse stand-in at niceness 0 (stack.sh runs it at LT_CLICKHOUSE_NICE, 10)
  --update-screenshot  the month's big-screen screenshot also to docs/month-campaign.png (always bench-results/month-campaign.png)
  --profile     node --cpu-prof on the 1-worker ingest run and on the fan-out gateway and clients; top self-time functions in the JSON
  --charts      also write docs/bench/*.svg on a quick or --only run (a full run always does)
  --no-charts   never write docs/bench/*.svg (bench-results/*.svg is always written)
  --from <file> run nothing; re-render table, results.md and charts from a results JSON`;

export function parseOptions(argv: string[]): BenchOptions {
  let quick = false;
  let profile = false;
  let updateScreenshot = false;
  let monthRecovery = true;
  let monthHistory = true;
  let monthResume = false;
  let monthFresh = false;
  let latencyBaseline = true;
  let charts: boolean | null = null;
  let maxRate: number | null = null;
  let monthScale: number | null = null;
  let monthDedupBuckets: number | null = null;
  let monthProducer: BenchOptions['monthProducer'] = 'platformatic';
  let from: string | null = null;
  const only: ScenarioName[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--profile') profile = true;
    else if (arg === '--update-screenshot') updateScreenshot = true;
    else if (arg === '--no-month-recovery') monthRecovery = false;
    else if (arg === '--no-month-history') monthHistory = false;
    else if (arg === '--resume') monthResume = true;
    else if (arg === '--fresh') monthFresh = true;
    else if (arg === '--no-latency-baseline') latencyBaseline = false;
    else if (arg === '--no-charts') charts = false;
    else if (arg === '--charts') charts = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      for (const name of value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (!(SCENARIO_NAMES as readonly string[]).includes(name))
          throw new Error(`unknown scenario ${JSON.stringify(name)}\n${USAGE}`);
        only.push(name as ScenarioName);
      }
    } else if (arg === '--max-rate' || arg.startsWith('--max-rate=')) {
      maxRate = Number(value());
      if (!Number.isFinite(maxRate) || maxRate <= 0) throw new Error(`--max-rate must be a positive number\n${USAGE}`);
    } else if (arg === '--month-scale' || arg.startsWith('--month-scale=')) {
      monthScale = Number(value());
      if (!Number.isFinite(monthScale) || monthScale <= 0 || monthScale > 1)
        throw new Error(`--month-scale must be a number in (0, 1]\n${USAGE}`);
    } else if (arg === '--month-dedup-buckets' || arg.startsWith('--month-dedup-buckets=')) {
      monthDedupBuckets = Number(value());
      if (!Number.isInteger(monthDedupBuckets) || monthDedupBuckets < 1 || monthDedupBuckets > 16_777_216)
        throw new Error(`--month-dedup-buckets must be an integer from 1 to 16777216\n${USAGE}`);
    } else if (arg === '--month-producer' || arg.startsWith('--month-producer=')) {
      const client = value();
      if (client !== 'platformatic' && client !== 'kafkajs')
        throw new Error(`--month-producer must be platformatic or kafkajs\n${USAGE}`);
      monthProducer = client;
    } else if (arg === '--from' || arg.startsWith('--from=')) {
      from = value();
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  if (monthResume && monthFresh) throw new Error(`--resume and --fresh exclude each other\n${USAGE}`);
  const full = !quick && only.length === 0;
  return {
    quick,
    only: only.length > 0 ? only : null,
    sizes: { ...(quick ? QUICK : FULL), ...(monthScale === null ? {} : { monthScale }) },
    maxRate,
    profile,
    outDir: 'bench-results',
    chartsDir: 'docs/bench',
    docCharts: charts ?? full,
    chartsFlag: charts,
    from,
    updateScreenshot,
    monthRecovery,
    monthHistory,
    latencyBaseline,
    monthDedupBuckets,
    monthProducer,
    monthResume,
    monthFresh,
  };
}
