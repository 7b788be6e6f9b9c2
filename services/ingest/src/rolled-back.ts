import { nextOffset, offsetAfter } from './batch-processor';

/** A partition whose group commit is ahead of what Redis holds: to be read again from `from`. */
export interface RolledBack {
  partition: number;
  from: string;
  committed: string;
}

/**
 * The assigned partitions whose committed offset is past the offset after Redis' durable one.
 * A commit follows a durable mark, so this happens only when Redis moved back (restored from
 * an older snapshot): read again from there, or the events in between stay uncounted until
 * the partition's next event, and for good on a quiet one. Partitions Redis holds no durable
 * offset for are left to the live-state gate (a Redis that lost everything needs a rebuild,
 * not a re-read of the whole topic).
 */
export function rolledBackPartitions(
  assigned: Iterable<number>,
  committed: ReadonlyMap<number, string>,
  durable: ReadonlyMap<number, string>,
): RolledBack[] {
  const out: RolledBack[] = [];
  for (const partition of assigned) {
    const commit = committed.get(partition);
    const held = durable.get(partition);
    if (commit === undefined || held === undefined) continue;
    const from = nextOffset(held);
    if (offsetAfter(commit, from)) out.push({ partition, from, committed: commit });
  }
  return out;
}
