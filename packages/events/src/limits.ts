/** Bounds that make a value "absurd"; documented in docs/platform-onboarding.md (the event schema). */
export const LIMITS = {
  /** Largest encoded event accepted, in bytes. */
  maxEventBytes: 16 * 1024,
  /** 2000-01-01T00:00:00Z: anything earlier is a broken clock, not history. */
  minTs: 946_684_800_000,
  /** How far ahead of the receiver's clock an event may claim to be. */
  maxFutureSkewMs: 5 * 60 * 1000,
  /** One order of 100 million yuan is a typo, not a sale. */
  maxAmountFen: 10_000_000_000,
  maxQuantity: 100_000,
  /** Likes one event may stand for: a batch of taps, not a counter's running total. */
  maxLikeCount: 100_000,
  /**
   * Views one event may count. A platform reports a stream's views per interval (the
   * simulator: per minute); the most watched Chinese livestreams peak at a few million
   * viewers over a whole session, so a million in one interval is beyond any real
   * stream and catches a running total or a unit mistake, while a batch of events at
   * this bound stays far inside exact integer sums.
   */
  maxViewCount: 1_000_000,
  maxIdLength: 128,
  maxDimensionLength: 64,
  maxTitleLength: 200,
} as const;

export type Limits = typeof LIMITS;
