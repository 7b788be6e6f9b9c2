import { LIMITS, encodeEvent, validateEvent, type FieldError } from '@livetally/events';

export type EventStatus = 'accepted' | 'duplicate_in_batch' | 'rejected';

/** What the response says about one event, in request order. */
export interface EventResult {
  index: number;
  /** The event's eventId when it sent a usable one, else null. */
  eventId: string | null;
  status: EventStatus;
  errors?: FieldError[];
}

export interface KafkaMessage {
  key: string;
  value: Buffer;
}

export interface ClassifiedBatch {
  results: EventResult[];
  /** Accepted events, encoded, in request order; key = streamId. */
  messages: KafkaMessage[];
  counts: { accepted: number; duplicates: number; rejected: number };
  /** Rejections by reason, for metrics. */
  reasons: Map<string, number>;
}

/**
 * Indexes of events that name a platform other than the key's. Events without a string
 * platform are left to validation (they are rejected per event as missing/wrong type).
 */
export function foreignPlatformIndexes(events: readonly unknown[], platform: string): number[] {
  const out: number[] = [];
  events.forEach((e, i) => {
    const p = typeof e === 'object' && e !== null ? (e as { platform?: unknown }).platform : undefined;
    if (typeof p === 'string' && p !== platform) out.push(i);
  });
  return out;
}

/**
 * Validates every event with the shared validator, marks later copies of an accepted
 * platform+eventId in the same request as duplicate_in_batch (an earlier rejected copy
 * does not count: the later one may be the fix), and encodes what is accepted exactly
 * as the ingest workers will decode it.
 */
export function classifyBatch(events: readonly unknown[], now: number): ClassifiedBatch {
  const results: EventResult[] = [];
  const messages: KafkaMessage[] = [];
  const seen = new Set<string>();
  const reasons = new Map<string, number>();
  const counts = { accepted: 0, duplicates: 0, rejected: 0 };
  const reject = (index: number, eventId: string | null, errors: FieldError[]) => {
    results.push({ index, eventId, status: 'rejected', errors });
    counts.rejected++;
    const reason = errors[0]?.reason ?? 'unknown';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  events.forEach((raw, index) => {
    const checked = validateEvent(raw, { now });
    if (!checked.ok) return reject(index, echoId(raw), checked.errors);
    const { event } = checked;
    const fingerprint = `${event.platform}\u0000${event.eventId}`;
    if (seen.has(fingerprint)) {
      results.push({ index, eventId: event.eventId, status: 'duplicate_in_batch' });
      counts.duplicates++;
      return;
    }
    const value = encodeEvent(event);
    // The ingest workers dead-letter anything larger; refuse it here where the sender hears about it.
    if (value.length > LIMITS.maxEventBytes) {
      return reject(index, event.eventId, [
        {
          field: '$',
          reason: 'oversized',
          message: `event is ${value.length} bytes encoded, at most ${LIMITS.maxEventBytes} allowed`,
        },
      ]);
    }
    seen.add(fingerprint);
    messages.push({ key: event.streamId, value });
    results.push({ index, eventId: event.eventId, status: 'accepted' });
    counts.accepted++;
  });
  return { results, messages, counts, reasons };
}

/** Echoes a rejected event's id back so the sender can match it, if it is a sane string. */
function echoId(raw: unknown): string | null {
  const id = typeof raw === 'object' && raw !== null ? (raw as { eventId?: unknown }).eventId : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= LIMITS.maxIdLength ? id : null;
}
