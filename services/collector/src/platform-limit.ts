import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AnyRedis } from '@livetally/live-state';

/** How many events a platform may send; the routes ask before storing anything. */
export interface PlatformLimiter {
  /** All or nothing per request: `events` fit in the platform's window, or the wait until it ends. */
  take(platform: string, events: number): Promise<{ ok: true } | { ok: false; retryAfterMs: number }>;
}

export interface PlatformLimitOptions {
  eventsPerSecond: number;
  burst: number;
  /** Shared by every collector instance; absent = this process only (unit tests). */
  redis?: AnyRedis;
  /** Prefix of the counters' Redis keys, e.g. "lt:rl:collector". */
  keyPrefix: string;
}

/**
 * At most `burst` events per platform in each window of burst / eventsPerSecond seconds
 * (rounded up, at least one), so the long-run rate stays at or below eventsPerSecond and
 * a full burst is accepted at once. The counters live in Redis, so N collector instances
 * behind a load balancer enforce one limit per platform, not N. A refused request counts
 * against its window too: retrying sooner than Retry-After (the window's end) gains nothing,
 * and once a platform is over its limit this process refuses it from memory until the
 * window ends, so a flood costs Redis nothing more.
 *
 * When Redis does not answer, each instance falls back to counters of its own with the
 * same limit (fail-open to a per-instance limit): the collector's job is to take events
 * in, and its readiness depends on Kafka only; refusing every platform while Redis is away
 * (fail-closed) would turn a Redis outage into lost sales events, while no limit at all
 * would let one platform flood Kafka. Meanwhile the fleet's limit is N times the limit.
 */
export class SharedPlatformLimiter implements PlatformLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(options: PlatformLimitOptions) {
    const points = options.burst;
    const duration = Math.max(1, Math.ceil(options.burst / options.eventsPerSecond));
    const local = new RateLimiterMemory({ keyPrefix: options.keyPrefix, points, duration });
    this.limiter = options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          keyPrefix: options.keyPrefix,
          points,
          duration,
          rejectIfRedisNotReady: true,
          insuranceLimiter: local,
          inMemoryBlockOnConsumed: points + 1,
        })
      : local;
  }

  async take(platform: string, events: number): Promise<{ ok: true } | { ok: false; retryAfterMs: number }> {
    try {
      await this.limiter.consume(platform, events);
      return { ok: true };
    } catch (err) {
      // Anything but a verdict means both stores failed; the memory one cannot, so this is a bug.
      if (!(err instanceof RateLimiterRes)) throw err;
      return { ok: false, retryAfterMs: err.msBeforeNext };
    }
  }
}
