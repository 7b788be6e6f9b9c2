export interface FrameRateOptions {
  /** Frames per second a connection may send on average (WS_FRAME_RATE). */
  perSecond: number;
  /** Frames it may send at once (WS_FRAME_BURST); also the number of dropped frames tolerated in a row. */
  burst: number;
}

export type FrameVerdict = 'ok' | 'limited' | 'abusive';

/** A second without a dropped frame forgives the earlier ones. */
const CALM_MS = 1000;

/**
 * Per-connection token bucket over client frames, pure (the caller passes the time).
 * A frame over the rate is `limited` (dropped, answered with RATE_LIMITED); once more
 * than `burst` frames were dropped without a calm second between them the client is
 * `abusive` and its connection is closed (1008). The error frames a flood earns are
 * therefore bounded by `burst` too.
 */
export class FrameRateLimiter {
  private tokens: number;
  private last: number;
  private strikes = 0;
  private lastStrike = -Infinity;

  constructor(
    private readonly options: FrameRateOptions,
    now: number,
  ) {
    this.tokens = options.burst;
    this.last = now;
  }

  take(now: number): FrameVerdict {
    // A clock that steps back must not mint tokens.
    this.tokens = Math.min(
      this.options.burst,
      this.tokens + (Math.max(0, now - this.last) * this.options.perSecond) / 1000,
    );
    this.last = Math.max(this.last, now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'ok';
    }
    if (now - this.lastStrike >= CALM_MS) this.strikes = 0;
    this.strikes++;
    this.lastStrike = now;
    return this.strikes > this.options.burst ? 'abusive' : 'limited';
  }
}
