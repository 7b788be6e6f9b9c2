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
  /** The summed totals' differing fields (empty when only the partitions' shares differ, offsetting each other). */
  fields: FieldDifference[];
  live: ExactTotals;
  history: ExactTotals;
  /**
   * The partitions whose Redis share differs from ClickHouse's rows of that
   * `kafka_partition` (ADR 0003: names the partition, and so the master); absent when the
   * comparison was not made per partition.
   */
  partitions?: PartitionDifference[];
}

/** One partition's share of a scope against ClickHouse's rows of that partition. */
export interface PartitionDifference {
  partition: number;
  fields: FieldDifference[];
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

/**
 * Compares per partition (ADR 0003): every partition's share of every scope
 * (`live`, partition → scope → raw totals) against ClickHouse's totals of that partition's
 * rows (`history`, `GROUP BY kafka_partition, scope`), both at the same per-partition cut.
 * A scope differs when any partition's share does, even when the differences cancel out in
 * the sum; each difference lists the partitions it comes from. Scopes missing on a side
 * count as zeros there, as in compareTotals.
 */
export function comparePartitions(
  live: ReadonlyMap<number, ReadonlyMap<string, RawTotals>>,
  history: ReadonlyMap<number, ReadonlyMap<string, RawTotals>>,
  computable: (kind: string) => boolean,
): Comparison {
  const sum = (side: ReadonlyMap<number, ReadonlyMap<string, RawTotals>>) => {
    const out = new Map<string, RawTotals>();
    for (const shares of side.values())
      for (const [scope, raw] of shares) {
        if (Object.keys(raw).length === 0) continue;
        const acc = exactTotals(out.get(scope));
        const add = exactTotals(raw);
        for (const f of TOTAL_FIELDS) acc[f] = addExact(acc[f], add[f]);
        out.set(scope, acc);
      }
    return out;
  };
  const comparison = compareTotals(sum(live), sum(history), computable);
  const byScope = new Map<string, PartitionDifference[]>();
  const partitions = [...new Set([...live.keys(), ...history.keys()])].sort((a, b) => a - b);
  for (const partition of partitions) {
    const l = live.get(partition) ?? new Map<string, RawTotals>();
    const h = history.get(partition) ?? new Map<string, RawTotals>();
    for (const scope of new Set([...l.keys(), ...h.keys()])) {
      if (!computable(scopeKind(scope))) continue;
      const a = exactTotals(l.get(scope));
      const b = exactTotals(h.get(scope));
      const fields = TOTAL_FIELDS.filter((f) => a[f] !== b[f]).map((f) => ({
        field: f,
        live: a[f],
        history: b[f],
        delta: delta(a[f], b[f]),
      }));
      if (fields.length === 0) continue;
      let list = byScope.get(scope);
      if (!list) byScope.set(scope, (list = []));
      list.push({ partition, fields });
    }
  }
  const differences = comparison.differences.map((d) => ({ ...d, partitions: byScope.get(d.scope) ?? [] }));
  const known = new Set(differences.map((d) => d.scope));
  const liveSums = sum(live);
  const historySums = sum(history);
  for (const [scope, list] of byScope) {
    if (known.has(scope)) continue;
    // The shares differ but their sum agrees: still a difference (a partition's state is wrong).
    differences.push({
      scope,
      presence: 'both',
      fields: [],
      live: exactTotals(liveSums.get(scope)),
      history: exactTotals(historySums.get(scope)),
      partitions: list,
    });
  }
  differences.sort((x, y) => x.scope.localeCompare(y.scope));
  return { ...comparison, agreeing: comparison.compared - differences.length, differences };
}

function addExact(a: string, b: string): string {
  try {
    return (BigInt(a) + BigInt(b)).toString();
  } catch {
    return '?';
  }
}

/** The partitions named by a comparison's differences, in order. */
export function differingPartitions(c: Comparison): number[] {
  return [...new Set(c.differences.flatMap((d) => (d.partitions ?? []).map((p) => p.partition)))].sort((a, b) => a - b);
}

/** A plain-text table of the differing scopes (at most `limit` of them) and a summary line. */
export function formatComparison(c: Comparison, options: { limit?: number } = {}): string {
  const limit = options.limit ?? 50;
  const lines: string[] = [];
  if (c.differences.length > 0) {
    const rows: string[][] = [['scope', 'field', 'redis', 'clickhouse', 'redis-clickhouse']];
    for (const d of c.differences.slice(0, limit)) {
      const name = d.scope + (d.presence === 'both' ? '' : ` (${d.presence})`);
      d.fields.forEach((f, i) => rows.push([i === 0 ? name : '', f.field, f.live, f.history, f.delta]));
      if (d.fields.length === 0) rows.push([`${name} (shares only)`, '', '', '', '']);
      // Per partition (ADR 0003): the share of each partition that differs, and so its master.
      for (const p of d.partitions ?? [])
        for (const f of p.fields) rows.push([`  partition ${p.partition}`, f.field, f.live, f.history, f.delta]);
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
  const partitions = differingPartitions(c);
  if (partitions.length > 0) lines.push(`differing partitions: ${partitions.join(', ')}`);
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
