import type { FieldError } from '@livetally/events';
import type { FencedRow } from '@livetally/history';

/**
 * What happens to each message: counted, sent to the dead-letter topic, or (for a
 * whole batch) retried because a store is unavailable.
 */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  step: 'decode' | 'validate';
  errors: FieldError[];
}

export type BatchOutcome =
  /** Redis holds the batch; `rows` are what ClickHouse still lacks, for the history flusher. */
  | {
      kind: 'processed';
      lastOffset: string;
      rows: FencedRow[];
      counted: number;
      duplicates: number;
      deadLettered: number;
    }
  | { kind: 'skipped'; lastOffset: string; reason: 'already-stored' }
  /** Nothing resolved; `lost-ownership`: another worker took the partition, or its state moved (take it again). */
  | { kind: 'deferred'; reason: 'empty' | 'lost-ownership' };
