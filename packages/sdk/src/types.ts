import type { FieldError, LiveEvent } from '@livetally/events';

type Optional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/** Fields an event may leave out: the client fills them in (or validation, `count` of a like: 1). */
type Defaulted = 'v' | 'eventId' | 'ts' | 'platform' | 'count';

/**
 * An event as a platform hands it to the client: `eventId`, `ts` and `v` may be left
 * out (the client fills them in once, so every retry sends the same values), `platform`
 * when the client was given a default platform, and a like's `count` (one like).
 */
export type EventInput = {
  [T in LiveEvent['type']]: Optional<
    Extract<LiveEvent, { type: T }>,
    Extract<keyof Extract<LiveEvent, { type: T }>, Defaulted>
  >;
}[LiveEvent['type']];

/** What became of one event. */
export type EventOutcome =
  /** Stored in Kafka (acknowledged by all in-sync replicas). */
  | { status: 'accepted'; eventId: string; attempts: number }
  /** Another event with the same eventId in the same batch was stored; this one was not. */
  | { status: 'duplicate'; eventId: string; attempts: number }
  /** Invalid (locally or by the collector): never retried; fix the event. */
  | { status: 'rejected'; eventId: string | null; errors: FieldError[] }
  /**
   * Not acknowledged: retries ran out, or the request itself was refused (bad key,
   * another platform's events…). It may or may not have been stored: resend `event`
   * as it is (same eventId) and the pipeline counts it once.
   */
  | { status: 'failed'; eventId: string; event: LiveEvent; error: string; code?: string; attempts: number };

export type FailedOutcome = Extract<EventOutcome, { status: 'rejected' | 'failed' }>;

/** Outcomes settled since the previous report. */
export interface FlushReport {
  accepted: number;
  duplicates: number;
  /** Rejected and failed events, in the order they settled. */
  failed: FailedOutcome[];
}

/** The collector's per-event answer (or the Kafka transport's equivalent). */
export interface EventResult {
  status: 'accepted' | 'duplicate_in_batch' | 'rejected';
  errors?: FieldError[];
}

/** A transport's answer to one batch; transports never throw. */
export type BatchResponse =
  | { kind: 'results'; results: EventResult[] }
  /** Transient: 429, 503, other 5xx, network errors, timeouts. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** The request can never succeed as it is: 4xx other than 429. */
  | { kind: 'fatal'; reason: string; status?: number; code?: string };

export interface Transport {
  sendBatch(events: readonly LiveEvent[]): Promise<BatchResponse>;
  close(): Promise<void>;
}

/** Time, injectable so batching and backoff can be tested without waiting. */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
