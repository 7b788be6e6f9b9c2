import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  service: string;
  level?: string;
  /** Write to this destination instead of stdout (tests pass a stream). */
  destination?: pino.DestinationStream;
}

// Secrets can reach a log line through config dumps, headers or URLs.
const REDACT_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  'apiKeys',
  '*.apiKeys',
  'config.redisUrl',
  'config.clickhouse.password',
  // The gateway's token secrets and SQL user (it logs a sanitised config; these catch a raw one).
  'config.auth.keys',
  'config.sqlCredentials.password',
];

export function createLogger(options: CreateLoggerOptions): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** Strips credentials from a URL before it is logged. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

/**
 * An error listener that logs at most one line per interval: a client library that reports
 * every failed reconnect (ioredis while Redis is down) would otherwise flood the log.
 */
export function throttledWarn(log: Logger, msg: string, intervalMs = 30_000): (err: Error) => void {
  let last = -Infinity;
  return (err) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    log.warn({ err }, msg);
  };
}
