import { parseArgs } from 'node:util';
import { describeEnv, hostPorts, oneOf, parseEnv, str, type Env } from '@livetally/config';
import { TOPICS } from '@livetally/events';
import { CAMPAIGN_CITIES, SHENZHEN_FACTS } from './campaign-profile';
import { parseShanghaiTime } from './shanghai-time';

export const MODES = ['live', 'seeded', 'campaign'] as const;
/** The validator accepts event times at most this far ahead of the receiver's clock. */
const FUTURE_SKEW_MS = 5 * 60_000;

/** About 117,000 events and 2,040,000 yuan of Shenzhen sales for the whole campaign month (see docs/simulator.md). */
export const DEFAULT_CAMPAIGN_SCALE = 0.00005;
export const DEFAULT_CAMPAIGN_MINUTES = 5;

// @types/node 20 does not export the options type parseArgs takes; it is read off the function.
type ParseArgsOptionsConfig = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

/** The settings the simulator reads from the environment; the rest are flags. */
const schema = {
  KAFKA_BROKERS: hostPorts('127.0.0.1:9092'),
  KAFKA_TOPIC: str(TOPICS.events),
  LOG_LEVEL: oneOf('info', ['error', 'warn', 'info', 'debug'] as const),
};

/** What each variable sets; .env.example is generated from it (npm run env:example). Everything else is a flag (--help). */
export const SIMULATOR_ENV = describeEnv(schema, {
  KAFKA_BROKERS: 'Kafka bootstrap brokers, host:port[,host:port…].',
  KAFKA_TOPIC: 'Topic the simulated events are produced to.',
  LOG_LEVEL: 'Log level: error, warn, info or debug.',
});

/** The command-line flags, with their defaults (usage.ts prints them for --help). */
export const FLAGS = {
  mode: { type: 'string', default: 'live' },
  rate: { type: 'string', default: '200' },
  duration: { type: 'string', default: '0' },
  seed: { type: 'string', default: '42' },
  count: { type: 'string', default: '10000' },
  'malformed-every': { type: 'string', default: '0' },
  'duplicate-every': { type: 'string', default: '0' },
  'late-every': { type: 'string', default: '0' },
  hosts: { type: 'string', default: '2000' },
  scale: { type: 'string' },
  from: { type: 'string', default: SHENZHEN_FACTS.campaignFrom },
  to: { type: 'string', default: SHENZHEN_FACTS.campaignTo },
  speed: { type: 'string' },
  minutes: { type: 'string' },
  curve: { type: 'string' },
  cities: { type: 'string' },
  'plan-only': { type: 'boolean', default: false },
} satisfies ParseArgsOptionsConfig;

export function parseSimulatorConfig(env: Env, argv: string[], now = Date.now()) {
  const e = parseEnv(env, schema);
  const { values } = parseArgs({ args: argv, options: FLAGS });
  const problems: string[] = [];
  const num = (name: string, raw: string | undefined, min: number, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      problems.push(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const real = (name: string, raw: string | undefined, max: number): number | null => {
    if (raw === undefined) return null;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max)
      problems.push(`--${name} must be a number above 0 and at most ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const time = (name: string, raw: string) => {
    const ts = parseShanghaiTime(raw);
    if (Number.isNaN(ts))
      problems.push(
        `--${name} must be a date (2024-08-23, midnight Asia/Shanghai) or an ISO time with a zone, got ${JSON.stringify(raw)}`,
      );
    return ts;
  };
  const mode = values.mode as (typeof MODES)[number];
  const cities = values.cities === undefined ? undefined : values.cities.split(',').map((c) => c.trim());
  for (const c of cities ?? [])
    if (!CAMPAIGN_CITIES.some((k) => k.name === c))
      problems.push(
        `--cities: unknown city ${JSON.stringify(c)}; known: ${CAMPAIGN_CITIES.map((k) => k.name).join(', ')}`,
      );
  const config = {
    brokers: e.KAFKA_BROKERS,
    topic: e.KAFKA_TOPIC,
    logLevel: e.LOG_LEVEL,
    mode,
    ratePerSecond: num('rate', values.rate, 1, 1_000_000),
    durationSeconds: num('duration', values.duration, 0, 31 * 86_400),
    seed: num('seed', values.seed, 0, 2 ** 31 - 1),
    count: num('count', values.count, 1, 100_000_000),
    malformedEvery: num('malformed-every', values['malformed-every'], 0, 1_000_000),
    duplicateEvery: num('duplicate-every', values['duplicate-every'], 0, 1_000_000),
    lateEvery: num('late-every', values['late-every'], 0, 1_000_000),
    hosts: num('hosts', values.hosts, 1, 1_000_000),
    /** Fraction of the real market (campaign and live); live derives it from --rate when absent. */
    scale: real('scale', values.scale, 1) ?? (mode === 'campaign' ? DEFAULT_CAMPAIGN_SCALE : null),
    from: time('from', values.from!),
    to: time('to', values.to!),
    /** Event-time milliseconds played per wall-clock millisecond (campaign). */
    speed: real('speed', values.speed, 1e9),
    minutes: real('minutes', values.minutes, 1e6),
    curve: (values.curve ?? (mode === 'live' ? 'flat' : 'shanghai')) as 'flat' | 'shanghai',
    cities,
    /** Campaign: print the plan's exact totals and exit without sending. */
    planOnly: values['plan-only'] === true,
  };
  if (!MODES.includes(mode))
    problems.push(`--mode must be one of ${MODES.join(', ')}, got ${JSON.stringify(values.mode)}`);
  if (config.curve !== 'flat' && config.curve !== 'shanghai')
    problems.push(`--curve must be flat or shanghai, got ${JSON.stringify(values.curve)}`);
  if (config.planOnly && mode !== 'campaign')
    problems.push('--plan-only plans a campaign window: give --mode campaign');
  if (mode === 'campaign') {
    if (config.speed !== null && config.minutes !== null) problems.push('give --speed or --minutes, not both');
    if (!(config.from < config.to)) problems.push(`--from must lie before --to`);
    if (config.to > now + FUTURE_SKEW_MS && !config.planOnly)
      problems.push(
        `--to lies in the future: campaign mode plays past windows (ingest rejects event times more than 5 minutes ahead)`,
      );
  }
  if (problems.length > 0) throw new Error(`invalid arguments:\n  - ${problems.join('\n  - ')}`);
  return config;
}

export type SimulatorConfig = ReturnType<typeof parseSimulatorConfig>;
