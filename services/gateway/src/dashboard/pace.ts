import { shareBp } from './format';

export type PaceStatus = 'not_started' | 'ahead' | 'behind' | 'met' | 'missed';

export interface Pace {
  /** Share of the target done, in basis points (may pass 10,000). */
  doneBp: number;
  /** Share of the window elapsed, in basis points. */
  elapsedBp: number;
  /** What a steady pace would have reached by now, truncated. */
  expected: number;
  status: PaceStatus;
}

/**
 * Pace of one target, by the REST pace's rule (GET /v1/campaigns/:id): met once reached,
 * missed when the window closed short, else ahead while the share done ≥ the share of the
 * window elapsed — compared exactly, actual × span ≥ target × elapsed, in BigInt.
 */
export function paceOf(actual: number, target: number, startsAt: number, endsAt: number, now: number): Pace {
  const span = endsAt - startsAt;
  const gone = Math.min(span, Math.max(0, now - startsAt));
  const elapsedBp = Math.floor((gone * 10_000) / span);
  const doneBp = shareBp(actual, target);
  const expected = Number((BigInt(target) * BigInt(gone)) / BigInt(span));
  let status: PaceStatus;
  if (actual >= target) status = 'met';
  else if (gone >= span) status = 'missed';
  else if (gone <= 0) status = 'not_started';
  else status = BigInt(Math.max(0, actual)) * BigInt(span) >= BigInt(target) * BigInt(gone) ? 'ahead' : 'behind';
  return { doneBp, elapsedBp, expected, status };
}
