/** Latency statistics: exact percentiles of a sample, and a 1-ms histogram for large counts. */

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
function rank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    min: n ? sorted[0]! : NaN,
    p50: rank(sorted, 50),
    p95: rank(sorted, 95),
    p99: rank(sorted, 99),
    max: n ? sorted[n - 1]! : NaN,
    mean: n ? sum / n : NaN,
  };
}

/** Counts per whole millisecond up to maxMs (larger values land in the last bin). */
export class Histogram {
  readonly bins: Uint32Array;
  count = 0;
  sum = 0;
  max = 0;

  constructor(readonly maxMs = 120_000) {
    this.bins = new Uint32Array(maxMs + 1);
  }

  add(ms: number): void {
    const v = Math.max(0, Math.round(ms));
    this.bins[Math.min(v, this.maxMs)]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Sparse form for IPC: [ms, count] pairs of the non-empty bins. */
  toSparse(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.bins.length; i++) if (this.bins[i]! > 0) out.push([i, this.bins[i]!]);
    return out;
  }

  addSparse(pairs: readonly [number, number][]): void {
    for (const [ms, n] of pairs) {
      this.bins[Math.min(ms, this.maxMs)]! += n;
      this.count += n;
      this.sum += ms * n;
      if (ms > this.max) this.max = ms;
    }
  }

  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i]!;
      if (seen >= target) return i;
    }
    return this.maxMs;
  }

  summary(): Summary {
    let min = NaN;
    for (let i = 0; i < this.bins.length; i++) {
      if (this.bins[i]! > 0) {
        min = i;
        break;
      }
    }
    return {
      count: this.count,
      min,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.count ? this.max : NaN,
      mean: this.count ? this.sum / this.count : NaN,
    };
  }
}
