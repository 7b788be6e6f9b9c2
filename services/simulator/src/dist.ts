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
