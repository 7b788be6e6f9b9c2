import type { RawTotals } from './live-state';
import { TOTAL_FIELDS, type TotalField } from './totals';

/**
 * Pure comparison of live totals (Redis) with totals recomputed from history
 * (ClickHouse), both taken at the same applied offsets. Values stay integer text
 * and are compared exactly (BigInt), so sums beyond 2^53 fen are never rounded.
 */

export type ExactTotals = Record<TotalField, string>;

export interface FieldDifference {
  field: TotalField;
  live: string;
  history: string;
  /** live − history, or '?' when a value is not an integer. */
  delta: string;
}

export interface ScopeDifference {
  scope: string;
  /** 'live-only' (history has no rows for it), 'history-only' (no Redis key), or 'both'. */
  presence: 'both' | 'live-only' | 'history-only';
  fields: FieldDifference[];
  live: ExactTotals;
  history: ExactTotals;
}

export interface Comparison {
  /** Scopes of computable kinds looked at (union of both sides). */
  compared: number;
  agreeing: number;
  differences: ScopeDifference[];
  /** Scopes of kinds history cannot compute, per kind: left out, not counted as agreeing. */
  skipped: { kind: string; scopes: number }[];
}

export function scopeKind(scope: string): string {
  const colon = scope.indexOf(':');
  return colon < 0 ? scope : scope.slice(0, colon);
}

function normalize(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '0';
  return /^-?\d+$/.test(raw.trim()) ? BigInt(raw.trim()).toString() : raw;
}

export function exactTotals(raw: RawTotals | undefined): ExactTotals {
  const out = {} as ExactTotals;
  for (const f of TOTAL_FIELDS) out[f] = normalize(raw?.[f]);
  return out;
}

function delta(live: string, history: string): string {
  try {
    const d = BigInt(live) - BigInt(history);
    return d > 0n ? `+${d}` : d.toString();
  } catch {
    return '?';
  }
}

/**
 * Compares every scope either side knows. A scope missing on one side counts as all
 * zeros there, so an empty Redis key or a history without rows for it agree with zero.
 */
export function compareTotals(
  live: ReadonlyMap<string, RawTotals>,
  history: ReadonlyMap<string, RawTotals>,
  computable: (kind: string) => boolean,
): Comparison {
  const skipped = new Map<string, number>();
  const differences: ScopeDifference[] = [];
  let compared = 0;
  const scopes = [...new Set([...live.keys(), ...history.keys()])].sort();
  for (const scope of scopes) {
    const kind = scopeKind(scope);
    if (!computable(kind)) {
      skipped.set(kind, (skipped.get(kind) ?? 0) + 1);
      continue;
    }
    compared++;
    const l = exactTotals(live.get(scope));
    const h = exactTotals(history.get(scope));
    const fields = TOTAL_FIELDS.filter((f) => l[f] !== h[f]).map((f) => ({
      field: f,
      live: l[f],
      history: h[f],
      delta: delta(l[f], h[f]),
    }));
    if (fields.length === 0) continue;
    const presence = !history.has(scope) ? 'live-only' : !live.has(scope) ? 'history-only' : 'both';
    differences.push({ scope, presence, fields, live: l, history: h });
  }
  return {
    compared,
    agreeing: compared - differences.length,
    differences,
    skipped: [...skipped].map(([kind, n]) => ({ kind, scopes: n })).sort((a, b) => a.kind.localeCompare(b.kind)),
  };
}

/** A plain-text table of the differing scopes (at most `limit` of them) and a summary line. */
export function formatComparison(c: Comparison, options: { limit?: number } = {}): string {
  const limit = options.limit ?? 50;
  const lines: string[] = [];
  if (c.differences.length > 0) {
    const rows: string[][] = [['scope', 'field', 'redis', 'clickhouse', 'redis-clickhouse']];
    for (const d of c.differences.slice(0, limit)) {
      d.fields.forEach((f, i) =>
        rows.push([
          i === 0 ? d.scope + (d.presence === 'both' ? '' : ` (${d.presence})`) : '',
          f.field,
          f.live,
          f.history,
          f.delta,
        ]),
      );
    }
    const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
    for (const r of rows)
      lines.push(
        r
          .map((cell, col) => (col >= 2 ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
          .join('  ')
          .trimEnd(),
      );
    if (c.differences.length > limit)
      lines.push(`… and ${c.differences.length - limit} more differing scopes (use --json for all)`);
    lines.push('');
  }
  for (const s of c.skipped)
    lines.push(`skipped ${s.scopes} ${s.kind} scope(s): ClickHouse cannot compute ${s.kind} totals yet`);
  lines.push(
    c.differences.length === 0
      ? `OK: ${c.compared} scopes compared, all agree`
      : `DIFFER: ${c.differences.length} of ${c.compared} scopes differ: ${c.differences
          .slice(0, 10)
          .map((d) => d.scope)
          .join(', ')}${c.differences.length > 10 ? ', …' : ''}`,
  );
  return lines.join('\n');
}
