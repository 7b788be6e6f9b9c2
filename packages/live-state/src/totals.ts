import type { LiveEvent } from '@livetally/events';
import { scopesOf } from '@livetally/events';

/** Cumulative measures kept per scope; all exact integers (money in fen). */
export interface Totals {
  views: number;
  sessions: number;
  sessionsEnded: number;
  salesFen: number;
  refundsFen: number;
  orders: number;
  items: number;
  refunds: number;
}

export const TOTAL_FIELDS = [
  'views',
  'sessions',
  'sessionsEnded',
  'salesFen',
  'refundsFen',
  'orders',
  'items',
  'refunds',
] as const satisfies readonly (keyof Totals)[];
export type TotalField = (typeof TOTAL_FIELDS)[number];

export function emptyTotals(): Totals {
  return { views: 0, sessions: 0, sessionsEnded: 0, salesFen: 0, refundsFen: 0, orders: 0, items: 0, refunds: 0 };
}

/** What one event adds to every scope it belongs to. */
export function contributionOf(event: LiveEvent): Partial<Totals> {
  switch (event.type) {
    case 'stream_started':
      return { sessions: 1 };
    case 'stream_ended':
      return { sessionsEnded: 1 };
    case 'view':
      return { views: 1 };
    case 'sale':
      return { orders: 1, items: event.quantity, salesFen: event.amountFen };
    case 'refund':
      return { refunds: 1, refundsFen: event.amountFen };
  }
}

/** Per-scope deltas of a batch: pre-aggregated so the store sees one write per touched key. */
export type Deltas = Map<string, Partial<Totals>>;

export function aggregate(
  events: Iterable<LiveEvent>,
  extraScopes: (e: LiveEvent) => readonly string[] = () => [],
): Deltas {
  const deltas: Deltas = new Map();
  const add = (scope: string, contribution: Partial<Totals>) => {
    let d = deltas.get(scope);
    if (!d) deltas.set(scope, (d = {}));
    for (const k in contribution) {
      const field = k as TotalField;
      d[field] = (d[field] ?? 0) + contribution[field]!;
    }
  };
  for (const event of events) {
    const contribution = contributionOf(event);
    for (const scope of scopesOf(event)) add(scope, contribution);
    for (const scope of extraScopes(event)) add(scope, contribution);
  }
  return deltas;
}

/** Adds b into a (used by tests and by reconciliation). */
export function addTotals(a: Totals, b: Partial<Totals>): Totals {
  const out = { ...a };
  for (const f of TOTAL_FIELDS) out[f] += b[f] ?? 0;
  return out;
}
