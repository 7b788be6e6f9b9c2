import {
  DIMENSION_KINDS,
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURES,
  LEADERBOARD_MEASURE_NAMES,
  MEASURES,
} from '@livetally/events';
import type { ScopeTotalsText } from './event-history';
import type { CombinationRow, RankingRow } from './live-history';

/** Where each leaderboard measure's measure is among MEASURES. */
const RANKED = LEADERBOARD_MEASURE_NAMES.map((m) => MEASURES.indexOf(LEADERBOARD_MEASURES[m]));

/** An exact integer sum: a double while it is a safe integer (almost always), a BigInt beyond. */
type Sum = number | bigint;

function addExact(sum: Sum, value: string): Sum {
  if (typeof sum === 'number') {
    const v = Number(value);
    const s = sum + v;
    // Both safe and the result safe: the double addition was exact.
    if (Number.isSafeInteger(v) && Number.isSafeInteger(s)) return s;
    return BigInt(sum) + BigInt(value);
  }
  return sum + BigInt(value);
}

function addAll(sums: Sum[], values: readonly string[]): void {
  for (let i = 0; i < values.length; i++) sums[i] = addExact(sums[i]!, values[i]!);
}

const text = (sums: readonly Sum[]) =>
  Object.fromEntries(MEASURES.map((m, i) => [m, String(sums[i])])) as ScopeTotalsText;

/**
 * What a rebuild derives from a selection's combinations of scope columns
 * (LiveHistory.forEachCombination) instead of asking ClickHouse once more for each:
 * every scope's totals, the distinct (scope, host) pairs of the active-host
 * HyperLogLogs, and the leaderboard of every dimension member. Every row of the
 * selection is in exactly one combination, so sums over combinations are sums over
 * rows; they are exact however large (addExact).
 */
export class CombinationSums {
  private readonly pairs = new Set<string>();
  private readonly members = new Map<string, Sum[]>();
  private readonly scopes = new Map<string, Sum[]>();

  /** `scopesOf`: the scopes a combination's rows count in (and its host is active in). */
  constructor(private readonly scopesOf: (values: CombinationRow['values']) => readonly string[]) {}

  /** The dimension scopes of a combination: `all` and one per dimension kind. */
  static dimensionScopes(values: CombinationRow['values']): string[] {
    return ['all', ...DIMENSION_KINDS.map((k) => `${k}:${values[k]}`)];
  }

  add(row: CombinationRow): void {
    const values = MEASURES.map((m) => row.totals[m]);
    for (const scope of this.scopesOf(row.values)) {
      this.pairs.add(`${scope}\u0000${row.values.host}`);
      const sums = this.scopes.get(scope);
      if (sums) addAll(sums, values);
      else
        this.scopes.set(
          scope,
          values.map((v) => addExact(0, v)),
        );
    }
    const ranked = RANKED.map((i) => values[i]!);
    for (const dimension of LEADERBOARD_DIMENSIONS) {
      const key = `${dimension}\u0000${row.values[dimension]}`;
      const member = this.members.get(key);
      if (member) addAll(member, ranked);
      else
        this.members.set(
          key,
          ranked.map((v) => addExact(0, v)),
        );
    }
  }

  /** Every scope's totals (exact integer text, zero fields included). */
  scopeTotals(): Map<string, ScopeTotalsText> {
    return new Map([...this.scopes].map(([scope, sums]) => [scope, text(sums)]));
  }

  /** Distinct (scope, host id) pairs. */
  hostPairs(): [scope: string, host: string][] {
    return [...this.pairs].map((p) => {
      const at = p.indexOf('\u0000');
      return [p.slice(0, at), p.slice(at + 1)];
    });
  }

  /** Per leaderboard dimension and member, every leaderboard measure (exact integer text). */
  rankings(): RankingRow[] {
    return [...this.members].map(([key, sums]) => {
      const at = key.indexOf('\u0000');
      const row = { dimension: key.slice(0, at), member: key.slice(at + 1) } as RankingRow;
      LEADERBOARD_MEASURE_NAMES.forEach((m, i) => (row[m] = String(sums[i])));
      return row;
    });
  }
}
