import { isIPv4 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { presentedToken, type AuthSettings } from '../auth/guard';
import { verifyToken } from '../auth/token';
import { errorBody } from '../errors';

/** Request limits of the REST routes (GATEWAY_RATE_LIMIT_PER_MINUTE, GATEWAY_SQL_RATE_LIMIT_PER_MINUTE). */
export interface RateLimitSettings {
  /** Requests per minute per client on every REST route except the exempt ones. */
  perMinute: number;
  /** POST /v1/sql, counted on its own and lower: each query can cost ClickHouse seconds. */
  sqlPerMinute: number;
  /** Where the counters live, shared by every gateway instance; absent = this process only (unit tests). */
  redis?: Redis;
  /** Prefix of the counters' Redis keys, e.g. "lt:rl". */
  keyPrefix: string;
}

const WINDOW_SECONDS = 60;

/**
 * Not counted: the orchestrator's probes must never be refused, and a WebSocket upgrade
 * is bounded by the connection caps (WS_MAX_CONNECTIONS, WS_MAX_CONNECTIONS_PER_IP) instead.
 */
const EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/v1/live']);

/** Route groups with a limit of their own; everything else is "rest". */
export type LimitGroup = 'rest' | 'sql';

export function limitGroupOf(method: string, route: string | undefined): LimitGroup | undefined {
  if (route !== undefined && EXEMPT_ROUTES.has(route)) return undefined;
  return method === 'POST' && route === '/v1/sql' ? 'sql' : 'rest';
}

/**
 * Whom a request counts against: the subject of a valid token (all of its clients share
 * one budget, wherever they connect from), else the client address as fastify reports it
 * (behind GATEWAY_TRUST_PROXY: from X-Forwarded-For). The token is verified here because
 * the limit runs before authentication, so floods of bad tokens are limited too.
 */
export function clientKeyOf(auth: AuthSettings | undefined, now: () => number): (request: FastifyRequest) => string {
  return (request) => {
    const { token } = auth ? presentedToken(request) : {};
    if (auth && token) {
      const verified = verifyToken(token, auth.keys, { now: now(), clockSkewSeconds: auth.clockSkewSeconds });
      if (verified.ok) return `sub:${verified.claims.sub}`;
    }
    return `ip:${addressKey(request.ip)}`;
  };
}

/**
 * An IPv6 client usually owns a whole /64 and can rotate through it, so its first 64 bits
 * are the key; an IPv4-mapped address counts as the IPv4 address.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip) || !ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Counters per client and window, in Redis so that every gateway instance enforces one
 * limit. When Redis does not answer, each instance falls back to counters of its own
 * (the insurance limiter) with the same limits: neither fail-open (a Redis outage would
 * lift the limit exactly when history and SQL, which do not need Redis, are a flood's
 * only target) nor fail-closed (it would take history and SQL down with Redis). During
 * an outage the fleet's limit is thus the per-instance limit times the instance count.
 * A client over its limit is then refused from this process's memory until its window
 * ends, so a flood costs Redis nothing more.
 */
export function createRequestLimiter(settings: RateLimitSettings, group: LimitGroup): RateLimiterAbstract {
  const points = group === 'sql' ? settings.sqlPerMinute : settings.perMinute;
  const keyPrefix = `${settings.keyPrefix}:${group}`;
  const local = new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS });
  if (!settings.redis) return local;
  return new RateLimiterRedis({
    storeClient: settings.redis,
    keyPrefix,
    points,
    duration: WINDOW_SECONDS,
    rejectIfRedisNotReady: true,
    insuranceLimiter: local,
    inMemoryBlockOnConsumed: points + 1,
  });
}

/**
 * Counts every request to a limited route and answers 429 RATE_LIMITED with Retry-After
 * once a client is over its limit. An onRequest hook: register it before authentication.
 */
export function registerRateLimits(
  app: FastifyInstance,
  settings: RateLimitSettings,
  clientKey: (request: FastifyRequest) => string,
  onRefused: (reason: string) => void = () => undefined,
): void {
  const limiters: Record<LimitGroup, { limiter: RateLimiterAbstract; limit: number; variable: string }> = {
    rest: {
      limiter: createRequestLimiter(settings, 'rest'),
      limit: settings.perMinute,
      variable: 'GATEWAY_RATE_LIMIT_PER_MINUTE',
    },
    sql: {
      limiter: createRequestLimiter(settings, 'sql'),
      limit: settings.sqlPerMinute,
      variable: 'GATEWAY_SQL_RATE_LIMIT_PER_MINUTE',
    },
  };
  app.addHook('onRequest', async (request, reply) => {
    const group = limitGroupOf(request.method, request.routeOptions.url);
    if (group === undefined) return;
    const { limiter, limit, variable } = limiters[group];
    const key = clientKey(request);
    let verdict: RateLimiterRes;
    let allowed = true;
    try {
      verdict = await limiter.consume(key);
    } catch (err) {
      // Anything but a verdict means both stores failed; the memory one cannot, so this is a bug.
      if (!(err instanceof RateLimiterRes)) throw err;
      verdict = err;
      allowed = false;
    }
    const resetSeconds = Math.max(1, Math.ceil(verdict.msBeforeNext / 1000));
    reply
      .header('x-ratelimit-limit', limit)
      .header('x-ratelimit-remaining', verdict.remainingPoints)
      .header('x-ratelimit-reset', resetSeconds);
    if (allowed) return;
    onRefused(group === 'sql' ? 'sql_requests' : 'requests');
    request.log.info({ client: key, group }, 'request refused: over the rate limit');
    return reply
      .code(429)
      .header('retry-after', resetSeconds)
      .header('cache-control', 'no-store')
      .send(
        errorBody(
          'RATE_LIMITED',
          `over ${limit} requests per minute (${variable}) for this client; retry after ${resetSeconds} s`,
        ),
      );
  });
}
