/** The first retry waits about this long; each failed attempt doubles it. */
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;

/**
 * Delay before reconnect attempt number `attempt` (0 for the first retry): 0.5 s, 1 s,
 * 2 s … capped at 10 s, each scaled by 0.5–1 from `random` (0 ≤ random < 1) so that
 * many screens losing one gateway do not all reconnect in step.
 */
export function reconnectDelayMs(attempt: number, random: number): number {
  return Math.round(Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt) * (0.5 + random / 2));
}

/** Whole seconds shown until a retry at `until`, never below 1 while waiting. */
export function secondsUntil(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 1000));
}
