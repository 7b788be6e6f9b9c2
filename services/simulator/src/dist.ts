import type { Rng } from './rng';

/** Distributions on top of the seeded Rng; each draw consumes a fixed pattern of numbers. */

export function logUniform(rng: Rng, min: number, max: number): number {
  return min * (max / min) ** rng.next();
}

/** Mean of logUniform(min, max). */
export function logUniformMean(min: number, max: number): number {
  return min === max ? min : (max - min) / Math.log(max / min);
}

export function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

export function poisson(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  if (mean >= 40) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rng)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rng.next(); p > limit; p *= rng.next()) k++;
  return k;
}

export function binomial(rng: Rng, n: number, p: number): number {
  if (p <= 0 || n <= 0) return 0;
  if (p >= 1) return n;
  if (n >= 40) return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal(rng))));
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.next() < p) k++;
  return k;
}

/** Rounds up with probability equal to the fraction, so the mean is kept. */
export function randomRound(rng: Rng, x: number): number {
  const floor = Math.floor(x);
  return floor + (rng.next() < x - floor ? 1 : 0);
}

/**
 * Splits a whole `total` over weights so that the parts are whole and sum to it
 * exactly: floors of the exact shares, the rest one each to the largest remainders.
 */
export function largestRemainder(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0 || total === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : total / weights.length));
  const out = exact.map((x) => Math.floor(x));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => i).sort((a, b) => exact[b]! - out[b]! - (exact[a]! - out[a]!) || a - b);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]!]! += 1;
  return out;
}
