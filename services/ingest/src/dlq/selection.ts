import type { Letter } from './letter';

/** Offsets `from`..`to` (inclusive) of one dead-letter partition. */
export interface OffsetRange {
  partition: number;
  from: bigint;
  to: bigint;
}

/** Which dead letters a command acts on: every given filter must hold. */
export interface Selection {
  /** The letter's reason (lt-reason, the first error's) is one of these. */
  reasons: ReadonlySet<string> | null;
  /** Failed at or after, ms. */
  since: number | null;
  /** Failed before, ms. */
  until: number | null;
  /** The letter lies in one of these ranges of the dead-letter topic. */
  offsets: readonly OffsetRange[] | null;
  /** At most this many letters are acted on, the earliest first per partition. */
  limit: number;
}

export function selects(selection: Selection, letter: Letter): boolean {
  const { reasons, since, until, offsets } = selection;
  if (reasons && !reasons.has(letter.reason)) return false;
  if (since !== null && letter.failedAt < since) return false;
  if (until !== null && letter.failedAt >= until) return false;
  if (offsets) {
    const partition = letter.at.partition;
    const offset = BigInt(letter.at.offset);
    if (!offsets.some((r) => r.partition === partition && r.from <= offset && offset <= r.to)) return false;
  }
  return true;
}

/**
 * The part of a partition the selection can reach, [from, to): its offset ranges bound
 * it; `timeStart` is the first offset written at or after --since (Kafka's own index, by
 * the letters' timestamps, which are never earlier than their lt-failed-at).
 */
export function readBounds(
  selection: Pick<Selection, 'offsets'>,
  partition: number,
  log: { low: string; high: string; timeStart?: string },
): { from: string; to: string } {
  let from = BigInt(log.low);
  let to = BigInt(log.high);
  if (log.timeStart !== undefined && BigInt(log.timeStart) > from) from = BigInt(log.timeStart);
  if (selection.offsets) {
    const mine = selection.offsets.filter((r) => r.partition === partition);
    if (mine.length === 0) return { from: String(from), to: String(from) };
    const lowest = mine.reduce((m, r) => (r.from < m ? r.from : m), mine[0]!.from);
    const highest = mine.reduce((m, r) => (r.to > m ? r.to : m), mine[0]!.to);
    if (lowest > from) from = lowest;
    if (highest + 1n < to) to = highest + 1n;
  }
  return { from: String(from), to: String(to < from ? from : to) };
}
