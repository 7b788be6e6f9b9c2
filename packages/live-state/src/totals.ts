import { MEASURES, emptyMeasureTotals, type Measure, type MeasureTotals } from '@livetally/events';

/** Cumulative measures kept per scope (the counting rule's MEASURES); all exact integers (money in fen). */
export type Totals = MeasureTotals;

/** The fields of a totals or minute-bucket hash in Redis: the counting rule's measures. */
export const TOTAL_FIELDS = MEASURES;
export type TotalField = Measure;

export const emptyTotals = emptyMeasureTotals;

/** Per-scope deltas of a batch: pre-aggregated so the store sees one write per touched key. */
export type Deltas = Map<string, Partial<Totals>>;

/**
 * Sessions live now: started and not ended. A scope bounded in time (a campaign window)
 * counts the ends of sessions that were already live when it opened, without their
 * starts, so the difference can fall below zero there; no fewer than none are live.
 */
export function liveSessionsOf(t: Pick<Totals, 'sessions' | 'sessionsEnded'>): number {
  return Math.max(0, t.sessions - t.sessionsEnded);
}
