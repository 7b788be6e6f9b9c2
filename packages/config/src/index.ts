/**
 * A tiny schema for environment variables: each service declares its fields once,
 * parses them once at start-up and gets every problem reported together.
 */
export type Env = Record<string, string | undefined>;

export interface Field<T> {
  parse(raw: string | undefined, name: string): { ok: true; value: T } | { ok: false; message: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Parsed<S> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export function parseEnv<S extends Record<string, Field<unknown>>>(env: Env, schema: S): Parsed<S> {
  const problems: string[] = [];
  const parsed = parseEnvInto(env, schema, problems);
  if (!parsed) throw new ConfigError(problems);
  return parsed;
}

/**
 * Like parseEnv, but adds each bad variable's message to `problems` (undefined then) instead of throwing, so that a
 * service's own checks can add theirs and one ConfigError reports them all.
 */
export function parseEnvInto<S extends Record<string, Field<unknown>>>(
  env: Env,
  schema: S,
  problems: string[],
): Parsed<S> | undefined {
  const out: Record<string, unknown> = {};
  const before = problems.length;
  for (const [name, field] of Object.entries(schema)) {
    const r = field.parse(env[name] === '' ? undefined : env[name], name);
    if (r.ok) out[name] = r.value;
    else problems.push(r.message);
  }
  return problems.length === before ? (out as Parsed<S>) : undefined;
}

function field<T>(fallback: T | undefined, convert: (raw: string, name: string) => T | string): Field<T> {
  return {
    parse(raw, name) {
      if (raw === undefined) {
        return fallback === undefined ? { ok: false, message: `${name} is required` } : { ok: true, value: fallback };
      }
      const v = convert(raw, name);
      return typeof v === 'string' && v.startsWith('\0')
        ? { ok: false, message: v.slice(1) }
        : { ok: true, value: v as T };
    },
  };
}

const fail = (message: string) => `\0${message}`;

export const str = (fallback?: string): Field<string> => field(fallback, (raw) => raw);

export const int = (fallback: number | undefined, min: number, max: number): Field<number> =>
  field<number>(fallback, (raw, name) => {
    const n = Number(raw);
    return /^-?\d+$/.test(raw.trim()) && n >= min && n <= max
      ? n
      : fail(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  });

export const bool = (fallback: boolean): Field<boolean> =>
  field<boolean>(fallback, (raw, name) => {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    return fail(`${name} must be true or false, got ${JSON.stringify(raw)}`);
  });

export const oneOf = <T extends string>(fallback: T, values: readonly T[]): Field<T> =>
  field<T>(fallback, (raw, name) =>
    (values as readonly string[]).includes(raw)
      ? (raw as T)
      : fail(`${name} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`),
  );

export const url = (fallback: string | undefined, protocols: readonly string[]): Field<string> =>
  field<string>(fallback, (raw, name) => {
    try {
      const u = new URL(raw);
      return protocols.includes(u.protocol)
        ? raw
        : fail(`${name} must use ${protocols.join(' or ')}, got ${u.protocol}`);
    } catch {
      return fail(`${name} must be a URL, got ${JSON.stringify(raw)}`);
    }
  });

/** Comma-separated host:port list, as Kafka clients take it. */
export const hostPorts = (fallback: string): Field<string[]> =>
  field<string[]>(fallback.split(','), (raw, name) => {
    const parts = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = parts.filter((p) => !/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(p));
    return parts.length > 0 && bad.length === 0
      ? parts
      : fail(`${name} must be host:port[,host:port…], got ${JSON.stringify(raw)}`);
  });

// Variables several services read alike, so that their defaults and accepted values agree.
/** LOG_LEVEL of the pino loggers; info by default. */
export const logLevelField = oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const);
/** REDIS_URL: the local Redis by default; TLS (rediss:) allowed. */
export const redisUrlField = url('redis://127.0.0.1:6379', ['redis:', 'rediss:']);
/**
 * REDIS_CLUSTER_NODES: a Redis Cluster's seed nodes (host:port, comma-separated). Empty (the
 * default) means one Redis at REDIS_URL; set, the services connect to the cluster instead and
 * take only REDIS_URL's credentials and TLS (rediss:) from it.
 */
export const redisClusterNodesField: Field<string[]> = {
  parse(raw, name) {
    if (raw === undefined || raw.trim() === '') return { ok: true, value: [] };
    return hostPorts('').parse(raw, name);
  },
};
/** CLICKHOUSE_URL: the local ClickHouse HTTP interface by default. */
export const clickHouseUrlField = url('http://127.0.0.1:8123', ['http:', 'https:']);

/** Runs a service's config parse and exits with the message naming every bad variable. */
export function loadConfigOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export { defaultText, describeEnv, renderEnvExample, type EnvReference, type EnvSection } from './env-example';
