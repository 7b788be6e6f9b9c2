/**
 * Token bucket over events: `ratePerSecond` tokens flow in continuously up to
 * `capacity` (the burst). Pure: the caller passes the time, so tests need no timers.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Takes n tokens and returns 0, or takes nothing and returns the ms until n would be there. */
  take(n: number, now: number): number {
    // A clock that steps back must not mint tokens.
    this.tokens = Math.min(this.capacity, this.tokens + (Math.max(0, now - this.last) * this.ratePerSecond) / 1000);
    this.last = Math.max(this.last, now);
    if (this.tokens >= n) {
      this.tokens -= n;
      return 0;
    }
    return Math.ceil(((n - this.tokens) * 1000) / this.ratePerSecond);
  }
}

export interface RateLimiterOptions {
  eventsPerSecond: number;
  burst: number;
  now?: () => number;
}

/**
 * One bucket per platform, all or nothing per request. In-process: with N collector
 * instances behind a load balancer a platform gets up to N times the limit; a fleet
 * needs a shared limiter (a Redis script doing the same arithmetic) instead.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
  }

  take(platform: string, events: number): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.now();
    let bucket = this.buckets.get(platform);
    if (!bucket) {
      // Keys are authenticated platforms only, so the map is bounded by the configuration.
      bucket = new TokenBucket(this.options.eventsPerSecond, this.options.burst, now);
      this.buckets.set(platform, bucket);
    }
    const waitMs = bucket.take(events, now);
    return waitMs === 0 ? { ok: true } : { ok: false, retryAfterMs: waitMs };
  }
}
