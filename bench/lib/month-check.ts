/**
 * The month scenario's check: each figure the pipeline reports through each read path
 * (REST live totals, a WebSocket snapshot, the campaign and history APIs) against the
 * figure it must equal, and a table of them all.
 */

/** The figures checked, in the order shown (the counting rule's measures the month has). */
export const MONTH_FIGURES = [
  'salesFen',
  'views',
  'sessions',
  'sessionsEnded',
  'orders',
  'items',
  'refunds',
  'refundsFen',
  'likes',
] as const;
export type MonthFigure = (typeof MONTH_FIGURES)[number];
export type Figures = Record<MonthFigure, number>;

/** What a read path answered: its figures, or why it gave none. */
export type SourceReading = { figures: Partial<Record<string, number>> } | { error: string };

export interface FigureCheck {
  figure: MonthFigure;
  /** The plan's exact total (sales, views and sessions of whole days), or null when the plan fixes none. */
  plan: number | null;
  /** What the producer sent, tallied per event type. */
  sent: number;
  /** The figure every read path must show: the plan's where it has one, else what was sent. */
  expected: number;
  /** Per read path: its figure (null: it gave none). */
  read: Record<string, number | null>;
  exact: boolean;
}

export interface MonthCheck {
  rows: FigureCheck[];
  /** Every figure of every read path equals its expected figure, and what was sent equals the plan. */
  exact: boolean;
  /** Read paths that answered nothing (a failure, not a figure). */
  errors: Record<string, string>;
}

/**
 * Compares every figure of every read path with the plan's (where the plan fixes it)
 * or with what was sent; the sent tally must itself equal the plan.
 */
export function checkMonth(
  plan: Partial<Figures>,
  sent: Figures,
  sources: Readonly<Record<string, SourceReading>>,
): MonthCheck {
  const errors: Record<string, string> = {};
  for (const [name, reading] of Object.entries(sources)) if ('error' in reading) errors[name] = reading.error;
  const rows = MONTH_FIGURES.map((figure): FigureCheck => {
    const planned = plan[figure] ?? null;
    const expected = planned ?? sent[figure];
    const read: Record<string, number | null> = {};
    for (const [name, reading] of Object.entries(sources)) {
      const v = 'figures' in reading ? reading.figures[figure] : undefined;
      read[name] = typeof v === 'number' && Number.isFinite(v) ? v : null;
    }
    const exact = sent[figure] === expected && Object.values(read).every((v) => v === expected);
    return { figure, plan: planned, sent: sent[figure], expected, read, exact };
  });
  return { rows, exact: rows.every((r) => r.exact) && Object.keys(errors).length === 0, errors };
}

/** The check's cells: figure, plan, sent, one column per read path, and a verdict. */
export function monthCheckCells(check: MonthCheck): { head: string[]; rows: string[][] } {
  const sources = Object.keys(check.rows[0]?.read ?? {});
  const n = (v: number | null) => (v === null ? '–' : v.toLocaleString('en-US'));
  return {
    head: ['figure', 'plan', 'sent', ...sources, ''],
    rows: check.rows.map((r) => [
      r.figure,
      n(r.plan),
      n(r.sent),
      ...sources.map((s) => n(r.read[s] ?? null)),
      r.exact ? 'exact' : 'DIFFERS',
    ]),
  };
}

/** The check as a plain-text table, then the read paths that gave no figures. */
export function formatMonthCheck(check: MonthCheck): string {
  const { head, rows } = monthCheckCells(check);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((l) => l[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const errors = Object.entries(check.errors).map(([s, e]) => `${s}: no figures (${e})`);
  return [line(head), ...rows.map(line), ...errors].join('\n');
}
