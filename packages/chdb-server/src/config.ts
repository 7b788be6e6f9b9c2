import path from 'node:path';
import { LOG_LEVELS, type LogLevel } from './logger';

/** One account of the server: ClickHouse's own auth headers must name it. */
export interface ChdbAccount {
  user: string;
  password: string;
}

export interface ChdbServerConfig {
  dataDir: string;
  host: string;
  port: number;
  /** The account services write with (CHDB_USER / CHDB_PASSWORD). */
  writer: ChdbAccount;
  /** The read-only account (CHDB_READER_USER / CHDB_READER_PASSWORD): readonly=2 and reads only. */
  reader?: ChdbAccount;
  /** Host header names accepted besides the listen host and the loopback names (CHDB_ALLOWED_HOSTS). */
  allowedHosts: string[];
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

// A host name or an IPv4 address, or an IPv6 address in brackets as it appears in a Host header.
const HOST_NAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

/** Validates every variable and reports all problems at once. */
export function parseConfig(env: Env): ChdbServerConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  // Passwords are taken as given: surrounding spaces are part of the secret.
  const secret = (name: string): string | undefined =>
    env[name] === undefined || env[name] === '' ? undefined : env[name];

  const dataDirRaw = value('CHDB_DATA_DIR');
  if (dataDirRaw === undefined) problems.push('CHDB_DATA_DIR is required: the directory chDB keeps its data in');

  const host = value('CHDB_HTTP_HOST') ?? '127.0.0.1';
  if (/\s/.test(host)) problems.push(`CHDB_HTTP_HOST must be a host name or IP address, got ${JSON.stringify(host)}`);

  const port = integer(value('CHDB_HTTP_PORT'), 8123);
  if (port === undefined || port < 0 || port > 65535) {
    problems.push(`CHDB_HTTP_PORT must be an integer from 0 to 65535, got ${JSON.stringify(env.CHDB_HTTP_PORT)}`);
  }

  const writerUser = value('CHDB_USER') ?? 'default';
  const writerPassword = secret('CHDB_PASSWORD');
  if (writerPassword === undefined) {
    problems.push(
      'CHDB_PASSWORD is required: every request must authenticate (as CHDB_USER, default "default"); infra/stack.sh generates one under the data folder',
    );
  }
  checkUserName('CHDB_USER', writerUser, problems);

  const readerUser = value('CHDB_READER_USER');
  const readerPassword = secret('CHDB_READER_PASSWORD');
  if ((readerUser === undefined) !== (readerPassword === undefined)) {
    problems.push(
      'CHDB_READER_USER and CHDB_READER_PASSWORD go together: set both for a read-only account, or neither',
    );
  }
  if (readerUser !== undefined) {
    checkUserName('CHDB_READER_USER', readerUser, problems);
    if (readerUser === writerUser)
      problems.push(`CHDB_READER_USER must differ from CHDB_USER (both are ${JSON.stringify(writerUser)})`);
  }

  const allowedHosts = (value('CHDB_ALLOWED_HOSTS') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const badHosts = allowedHosts.filter((h) => !HOST_NAME.test(h));
  if (badHosts.length > 0) {
    problems.push(
      `CHDB_ALLOWED_HOSTS must be comma-separated host names without ports (e.g. chdb.internal,[fd00::1]), got ${badHosts.map((h) => JSON.stringify(h)).join(', ')}`,
    );
  }

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
    writer: { user: writerUser, password: writerPassword! },
    ...(readerUser !== undefined ? { reader: { user: readerUser, password: readerPassword! } } : {}),
    allowedHosts,
    maxBodyBytes: maxBodyBytes!,
    sessions: sessions!,
    logLevel,
  };
}

/** The one place that reads the process environment. */
export function loadConfig(): ChdbServerConfig {
  return parseConfig(process.env);
}

function checkUserName(variable: string, user: string, problems: string[]): void {
  if (user.includes(':')) problems.push(`${variable} must not contain ":" (it could not be sent with Basic auth)`);
}

function integer(raw: string | undefined, fallback: number): number | undefined {
  if (raw === undefined) return fallback;
  return /^\d+$/.test(raw) ? Number(raw) : undefined;
}
