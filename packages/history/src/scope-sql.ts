import { MEASURES } from '@livetally/events';
import { measureSql } from './counting-sql';
import { SCOPE_COLUMN_KINDS, scopeColumn } from './rows';

/**
 * Per-scope aggregates over lt_events as rebuild and reconcile read them. A row counts
 * once for every scope it belongs to (`all`, its city, district, …); expanding every row
 * into its scopes (ARRAY JOIN) makes the aggregation handle rows × kinds. Instead the rows
 * are first reduced per combination of the columns the scopes are made of (one pass,
 * one hash table keyed by those columns), and only those combinations are expanded into
 * scopes and summed again: exact for sums, counts, max and distinct, and the second
 * level sees combinations (thousands to a few hundred thousand), not rows (hundreds of
 * millions at the month's scale). Kinds and columns are constants of this package.
 */

/** Every dimension scope kind, `all` first. */
export const DIMENSION_SCOPE_KINDS: readonly string[] = ['all', ...SCOPE_COLUMN_KINDS];

function columnOfKind(kind: string): string {
  const column = scopeColumn(kind);
  if (!column)
    throw new Error(`no dimension scope kind ${JSON.stringify(kind)}; expected ${DIMENSION_SCOPE_KINDS.join(', ')}`);
  return column;
}

/** The scope texts of a row, `['all', concat('city:', city), …]`, for the given kinds. */
export function scopeArray(kinds: readonly string[]): string {
  if (kinds.length === 0) throw new Error('no scope kinds selected');
  return `[${kinds.map((k) => (k === 'all' ? `'all'` : `concat('${k}:', ${columnOfKind(k)})`)).join(', ')}]`;
}

/** The columns the scopes of these kinds are made of (none for `all`). */
export function scopeColumns(kinds: readonly string[]): string[] {
  return [...new Set(kinds.filter((k) => k !== 'all').map(columnOfKind))];
}

/** One aggregate: over rows (`inner`, named `alias`), then over those per scope (`outer`, e.g. `sum(alias)`), named `name`. */
export interface TwoLevelAggregate {
  inner: string;
  alias: string;
  outer: string;
  name: string;
}

export interface PerScopeQuery {
  /** Scope kinds to expand into; or one fixed scope (an SQL expression, e.g. a parameter) whose rows `where` selects. */
  scopes: { kinds: readonly string[] } | { fixed: string };
  /** Rows to aggregate. */
  where: string;
  /** What they are rows of: lt_events, or a subquery over it that adds columns. */
  from?: string;
  /** Grouping keys besides the scope (expression over rows, and its name in the answer). */
  keys?: readonly { expr: string; name: string }[];
  aggregates: readonly TwoLevelAggregate[];
  /** Filter on `scope` after the expansion (e.g. only some scopes). */
  scopeWhere?: string;
}

const list = (items: readonly string[]) => items.join(', ');

/** `SELECT scope, <keys>, <aggregates> …` grouped by scope and keys (see the module comment). */
export function perScopeSql(q: PerScopeQuery): string {
  const keys = q.keys ?? [];
  const keyNames = keys.map((k) => k.name);
  const from = q.from ?? 'lt_events';
  if ('fixed' in q.scopes) {
    const selected = [`${q.scopes.fixed} AS scope`, ...keys.map((k) => `${k.expr} AS ${k.name}`)];
    const aggregates = q.aggregates.map((a) => `${a.inner} AS ${a.name}`);
    return `SELECT ${list([...selected, ...aggregates])} FROM ${from} WHERE ${q.where}
      GROUP BY ${list(['scope', ...keyNames])}${q.scopeWhere ? ` HAVING ${q.scopeWhere}` : ''}`;
  }
  const columns = scopeColumns(q.scopes.kinds);
  const inner = [
    ...columns,
    ...keys.map((k) => `${k.expr} AS ${k.name}`),
    ...q.aggregates.map((a) => `${a.inner} AS ${a.alias}`),
  ];
  // HAVING: an aggregation without grouping keys answers one row even over no rows.
  const innerSql = `SELECT ${list(inner)} FROM ${from} WHERE ${q.where}${
    columns.length + keys.length > 0 ? ` GROUP BY ${list([...columns, ...keyNames])}` : ''
  } HAVING count() > 0`;
  const outer = ['scope', ...keyNames, ...q.aggregates.map((a) => `${a.outer} AS ${a.name}`)];
  return `SELECT ${list(outer)} FROM (${innerSql}) ARRAY JOIN ${scopeArray(q.scopes.kinds)} AS scope${
    q.scopeWhere ? ` WHERE ${q.scopeWhere}` : ''
  } GROUP BY ${list(['scope', ...keyNames])}`;
}

/** Sums of a set of named SQL expressions over rows, per scope: `inner` sums per combination, `outer` sums those. */
export function summed(expressions: readonly { name: string; sql: string }[]): TwoLevelAggregate[] {
  return expressions.map(({ name, sql }) => ({ inner: sql, alias: `r_${name}`, outer: `sum(r_${name})`, name }));
}

/** Every measure of the counting rule, summed per scope. */
export const MEASURE_SUMS: readonly TwoLevelAggregate[] = summed(
  MEASURES.map((m) => ({ name: m, sql: measureSql(m) })),
);
