import type { FieldError } from '@livetally/events';

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
  | { kind: 'processed'; lastOffset: string; counted: number; duplicates: number; deadLettered: number }
  | { kind: 'skipped'; lastOffset: string; reason: 'already-applied' }
  | { kind: 'deferred'; reason: 'short-replay' | 'lost-ownership' };
