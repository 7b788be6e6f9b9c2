import { scopesOf, type DimensionKind } from './scopes';
import { EVENT_TYPES, type EventType, type LiveEvent } from './types';

/**
 * The counting rule: what an event adds to which measure of every scope it belongs to
 * (scopes: scopesOf, plus the campaigns it matches). Everything that counts derives from
 * these tables: the live planner the ingest workers run, the SQL of history queries,
 * rollups, rebuilds and campaign backfills, and the oracle tests compare them with.
 * A new measure or event type is an edit here (and, for a type, its fields in fields.ts).
 */

/** Cumulative measures kept per scope, all exact integers (money in fen), in the order they are stored and shown. */
export const MEASURES = [
  'views',
  'sessions',
  'sessionsEnded',
  'salesFen',
  'refundsFen',
  'orders',
  'items',
  'refunds',
  'likes',
] as const;
export type Measure = (typeof MEASURES)[number];
export type MeasureTotals = Record<Measure, number>;

type EventOf<T extends EventType> = Extract<LiveEvent, { type: T }>;

/** Numeric fields of an event an amount may come from (not the envelope's version or time). */
export type AmountField<E> = Exclude<
  { [K in keyof E]-?: NonNullable<E[K]> extends number ? K : never }[keyof E],
  'v' | 'ts'
>;
type TextField<E> = { [K in keyof E]-?: NonNullable<E[K]> extends string ? K : never }[keyof E];

/**
 * What one event adds to a measure: 1 (the event itself), the value of one of its
 * numeric fields, or the value of an optional field with what an event that leaves it
 * out adds (`{ field: 'count', absent: 1 }`: a view counts one unless it says more).
 */
export type Amount<E> = 1 | AmountField<E> | { field: AmountField<E>; absent: number };

export interface TypeRule<E> {
  /** Measure → what one event of the type adds to it; measures left out get nothing. */
  adds: Partial<Record<Measure, Amount<E>>>;
  /** The id the unique-viewer estimate counts, for the types that name a viewer. */
  viewer?: TextField<E>;
}

export type CountingRule = { readonly [T in EventType]: TypeRule<EventOf<T>> };

export const COUNTING_RULE: CountingRule = {
  stream_started: { adds: { sessions: 1 } },
  stream_ended: { adds: { sessionsEnded: 1 } },
  view: { adds: { views: { field: 'count', absent: 1 } }, viewer: 'viewerId' },
  sale: { adds: { orders: 1, items: 'quantity', salesFen: 'amountFen' } },
  refund: { adds: { refunds: 1, refundsFen: 'amountFen' } },
  like: { adds: { likes: 'count' } },
};

/**
 * Leaderboards rank the members of these dimensions (scope kinds), within `all` and
 * within each campaign, by the measures below.
 */
export const LEADERBOARD_DIMENSIONS = [
  'host',
  'district',
  'category',
  'platform',
  'city',
] as const satisfies readonly DimensionKind[];
export type LeaderboardDimension = (typeof LEADERBOARD_DIMENSIONS)[number];

/** Leaderboard measure → the measure it ranks by (its name is part of the leaderboard's key and API). */
export const LEADERBOARD_MEASURES = {
  gmv: 'salesFen',
  views: 'views',
  sessions: 'sessions',
} as const satisfies Record<string, Measure>;
export type LeaderboardMeasure = keyof typeof LEADERBOARD_MEASURES;
export const LEADERBOARD_MEASURE_NAMES = Object.keys(LEADERBOARD_MEASURES) as LeaderboardMeasure[];

/** One contribution of an event type: the measure and where its amount comes from (null: 1 per event). */
export interface Contribution {
  measure: Measure;
  field: string | null;
  /** What an event that leaves the field out adds (0 for fields validation requires). */
  absent: number;
}

/** Each event type's contributions, in MEASURES order. */
export function contributionsOf(type: EventType): readonly Contribution[] {
  return CONTRIBUTIONS[type];
}

const CONTRIBUTIONS = {} as Record<EventType, readonly Contribution[]>;
for (const type of EVENT_TYPES) {
  const adds: Partial<Record<Measure, string | 1 | { field: string; absent: number }>> = COUNTING_RULE[type].adds;
  CONTRIBUTIONS[type] = MEASURES.filter((m) => adds[m] !== undefined).map((m) => {
    const a = adds[m]!;
    if (a === 1) return { measure: m, field: null, absent: 0 };
    return typeof a === 'string'
      ? { measure: m, field: a, absent: 0 }
      : { measure: m, field: a.field, absent: a.absent };
  });
}

/** The field holding the viewer id of an event type, or null when its events name no viewer. */
export function viewerFieldOf(type: EventType): string | null {
  return (COUNTING_RULE[type].viewer as string | undefined) ?? null;
}

/** The amount an event adds through a contribution. */
export function amountOf(event: LiveEvent, c: Contribution): number {
  return c.field === null ? 1 : ((event as unknown as Record<string, number | undefined>)[c.field] ?? c.absent);
}

export function emptyMeasureTotals(): MeasureTotals {
  const t = {} as MeasureTotals;
  for (const m of MEASURES) t[m] = 0;
  return t;
}

/** What one event adds to each measure its type counts in (listed even when the amount is 0). */
export function contributionOf(event: LiveEvent): Partial<MeasureTotals> {
  const out: Partial<MeasureTotals> = {};
  for (const c of CONTRIBUTIONS[event.type]) out[c.measure] = amountOf(event, c);
  return out;
}

/**
 * Totals per scope of a set of events, the rule applied in the plainest way: the
 * reference the live planner and the SQL paths are tested against. `extraScopes`
 * names further scopes of an event (campaigns).
 */
export function tally(
  events: Iterable<LiveEvent>,
  extraScopes: (e: LiveEvent) => readonly string[] = () => [],
): Map<string, MeasureTotals> {
  const out = new Map<string, MeasureTotals>();
  for (const e of events) {
    const contribution = contributionOf(e);
    for (const scope of [...scopesOf(e), ...extraScopes(e)]) {
      let t = out.get(scope);
      if (!t) out.set(scope, (t = emptyMeasureTotals()));
      for (const m of MEASURES) t[m] += contribution[m] ?? 0;
    }
  }
  return out;
}
