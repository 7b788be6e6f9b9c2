import type { Kafka } from 'kafkajs';
import { readLetter, type Letter } from './letter';
import { readBounds, selects, type Selection } from './selection';
import { partitionLogs, readRanges, type PartitionRange } from './topic-reader';

/** Letters per reason among every selected one (not only those kept under the limit). */
export interface ReasonCount {
  reason: string;
  letters: number;
  firstFailedAt: number;
  lastFailedAt: number;
}

export interface LetterScan {
  topic: string;
  /** The selected letters, at most the selection's limit: the earliest failed first. */
  letters: Letter[];
  /** Every letter the filters matched, kept or not. */
  matched: number;
  byReason: ReasonCount[];
  /** Records read, and those among them that are no LiveTally dead letter. */
  scanned: number;
  foreign: number;
  /** Partitions not read to their end within the time bound. */
  unfinished: PartitionRange[];
}

/** Orders letters by when they failed, then by their place on the dead-letter topic. */
export function byFailure(a: Letter, b: Letter): number {
  if (a.failedAt !== b.failedAt) return a.failedAt - b.failedAt;
  if (a.at.partition !== b.at.partition) return a.at.partition - b.at.partition;
  const d = BigInt(a.at.offset) - BigInt(b.at.offset);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/**
 * Keeps the `limit` earliest letters of a stream of any length in bounded memory
 * (letters can be 16 KiB each): sorts and cuts whenever twice the limit is held.
 */
export class EarliestLetters {
  private held: Letter[] = [];

  constructor(private readonly limit: number) {}

  add(letter: Letter): void {
    this.held.push(letter);
    if (this.held.length >= 2 * this.limit) this.cut();
  }

  result(): Letter[] {
    this.cut();
    return this.held;
  }

  private cut(): void {
    this.held.sort(byFailure);
    this.held.length = Math.min(this.held.length, this.limit);
  }
}

export function countByReason(counts: Map<string, ReasonCount>, letter: Letter): void {
  const c = counts.get(letter.reason);
  if (!c)
    counts.set(letter.reason, {
      reason: letter.reason,
      letters: 1,
      firstFailedAt: letter.failedAt,
      lastFailedAt: letter.failedAt,
    });
  else {
    c.letters += 1;
    c.firstFailedAt = Math.min(c.firstFailedAt, letter.failedAt);
    c.lastFailedAt = Math.max(c.lastFailedAt, letter.failedAt);
  }
}

/** Reads the dead-letter topic where the selection can reach (its offsets, Kafka's time index for --since). */
export async function scanLetters(
  kafka: Kafka,
  topic: string,
  selection: Selection,
  timeoutMs: number,
): Promise<LetterScan> {
  const logs = await partitionLogs(kafka, topic, selection.since);
  const ranges = logs.map((log) => ({ partition: log.partition, ...readBounds(selection, log.partition, log) }));
  const kept = new EarliestLetters(selection.limit);
  const counts = new Map<string, ReasonCount>();
  let scanned = 0;
  let foreign = 0;
  let matched = 0;
  const { unfinished } = await readRanges(kafka, topic, ranges, {
    timeoutMs,
    onRecord: (record) => {
      scanned += 1;
      const letter = readLetter(topic, record);
      if (!letter) {
        foreign += 1;
        return;
      }
      if (!selects(selection, letter)) return;
      matched += 1;
      countByReason(counts, letter);
      kept.add(letter);
    },
  });
  const byReason = [...counts.values()].sort((a, b) => b.letters - a.letters || a.reason.localeCompare(b.reason));
  return { topic, letters: kept.result(), matched, byReason, scanned, foreign, unfinished };
}
