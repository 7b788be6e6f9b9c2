import path from 'node:path';
import { LOG_LEVELS, type LogLevel } from './logger';

export interface ChdbServerConfig {
  dataDir: string;
  host: string;
  port: number;
  /** Set together with `password`; without a password the server accepts any credentials. */
  user?: string;
  password?: string;
  maxBodyBytes: number;
  /** chdb sessions, i.e. statements run at once (CHDB_SESSIONS, default 2). */
  sessions: number;
  logLevel: LogLevel;
}

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_SESSIONS = 2;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid chdb-server configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Validates every variable and reports all problems at once. */
export function parseConfig(env: Env): ChdbServerConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const dataDirRaw = value('CHDB_DATA_DIR');
  if (dataDirRaw === undefined) problems.push('CHDB_DATA_DIR is required: the directory chDB keeps its data in');

  const host = value('CHDB_HTTP_HOST') ?? '127.0.0.1';
  if (/\s/.test(host)) problems.push(`CHDB_HTTP_HOST must be a host name or IP address, got ${JSON.stringify(host)}`);

  const port = integer(value('CHDB_HTTP_PORT'), 8123);
  if (port === undefined || port < 0 || port > 65535) {
    problems.push(`CHDB_HTTP_PORT must be an integer from 0 to 65535, got ${JSON.stringify(env.CHDB_HTTP_PORT)}`);
  }

  const user = value('CHDB_USER');
  const password = env.CHDB_PASSWORD === undefined || env.CHDB_PASSWORD === '' ? undefined : env.CHDB_PASSWORD;
  if (user !== undefined && password === undefined) {
    problems.push('CHDB_USER is set but CHDB_PASSWORD is not: set both to require authentication, or neither');
  }
  if (user !== undefined && user.includes(':')) problems.push('CHDB_USER must not contain ":" (it could not be sent with Basic auth)');

  const maxBodyBytes = integer(value('CHDB_MAX_BODY_BYTES'), DEFAULT_MAX_BODY_BYTES);
  if (maxBodyBytes === undefined || maxBodyBytes <= 0) {
    problems.push(`CHDB_MAX_BODY_BYTES must be a positive integer, got ${JSON.stringify(env.CHDB_MAX_BODY_BYTES)}`);
  }

  const sessions = integer(value('CHDB_SESSIONS'), DEFAULT_SESSIONS);
  if (sessions === undefined || sessions < 1 || sessions > 64) {
    problems.push(`CHDB_SESSIONS must be an integer from 1 to 64, got ${JSON.stringify(env.CHDB_SESSIONS)}`);
  }

  const logLevel = (value('CHDB_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`CHDB_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.CHDB_LOG_LEVEL)}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    dataDir: path.resolve(dataDirRaw!),
    host,
    port: port!,
    ...(password !== undefined ? { user: user ?? 'default', password } : {}),
    maxBodyBytes: maxBodyBytes!,
    sessions: sessions!,
    logLevel,
  };
}

/** The one place that reads the process environment. */
export function loadConfig(): ChdbServerConfig {
  return parseConfig(process.env);
}

function integer(raw: string | undefined, fallback: number): number | undefined {
  if (raw === undefined) return fallback;
  return /^\d+$/.test(raw) ? Number(raw) : undefined;
}
