import { parseArgs } from 'node:util';
import { hostPorts, oneOf, parseEnv, str, type Env } from '@livetally/config';

export function parseSimulatorConfig(env: Env, argv: string[]) {
  const e = parseEnv(env, {
    KAFKA_BROKERS: hostPorts('127.0.0.1:9092'),
    KAFKA_TOPIC: str('livetally.events'),
    LOG_LEVEL: oneOf('info', ['error', 'warn', 'info', 'debug'] as const),
  });
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'live' },
      rate: { type: 'string', default: '200' },
      duration: { type: 'string', default: '0' },
      seed: { type: 'string', default: '42' },
      count: { type: 'string', default: '10000' },
      'malformed-every': { type: 'string', default: '0' },
      'duplicate-every': { type: 'string', default: '0' },
      'late-every': { type: 'string', default: '0' },
      hosts: { type: 'string', default: '2000' },
    },
  });
  const problems: string[] = [];
  const num = (name: string, raw: string | undefined, min: number, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const config = {
    brokers: e.KAFKA_BROKERS,
    topic: e.KAFKA_TOPIC,
    logLevel: e.LOG_LEVEL,
    mode: values.mode as 'live' | 'seeded',
    ratePerSecond: num('rate', values.rate, 1, 1_000_000),
    durationSeconds: num('duration', values.duration, 0, 31 * 86_400),
    seed: num('seed', values.seed, 0, 2 ** 31 - 1),
    count: num('count', values.count, 1, 100_000_000),
    malformedEvery: num('malformed-every', values['malformed-every'], 0, 1_000_000),
    duplicateEvery: num('duplicate-every', values['duplicate-every'], 0, 1_000_000),
    lateEvery: num('late-every', values['late-every'], 0, 1_000_000),
    hosts: num('hosts', values.hosts, 1, 1_000_000),
  };
  if (config.mode !== 'live' && config.mode !== 'seeded') problems.push(`--mode must be live or seeded, got ${JSON.stringify(values.mode)}`);
  if (problems.length > 0) throw new Error(`invalid arguments:\n  - ${problems.join('\n  - ')}`);
  return config;
}

export type SimulatorConfig = ReturnType<typeof parseSimulatorConfig>;
