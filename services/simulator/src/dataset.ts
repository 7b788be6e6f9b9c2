import { encodeEvent, tally, type LiveEvent, type MeasureTotals, type RejectReason } from '@livetally/events';
import { EventGenerator } from './generator';
import { MALFORMED_KINDS } from './malformed';

export interface DatasetMessage {
  key: string;
  value: Buffer;
  /** The event this message counts as, or null when it is broken or a resend. */
  event: LiveEvent | null;
  kind: 'valid' | 'malformed' | 'duplicate';
  expectedReason?: RejectReason;
}

export interface DatasetOptions {
  seed: number;
  count: number;
  /** Every n-th message is replaced by a malformed one (0: none). */
  malformedEvery?: number;
  /** Every n-th message is a platform resend of a recent valid message (0: none). */
  duplicateEvery?: number;
  /** Every n-th valid event arrives this late: its event time lies lateByMs in the past. */
  lateEvery?: number;
  lateByMs?: number;
  startTs: number;
  /** Event time advances evenly over this span. */
  spanMs: number;
  hosts?: number;
}

/** A fixed data set: the same options always give the same messages. */
export function buildDataset(options: DatasetOptions): DatasetMessage[] {
  let i = 0;
  const step = options.count > 1 ? options.spanMs / (options.count - 1) : 0;
  const generator = new EventGenerator({
    seed: options.seed,
    hosts: options.hosts,
    clock: () => Math.floor(options.startTs + i * step),
  });
  const out: DatasetMessage[] = [];
  const every = (n: number | undefined) => (n ?? 0) > 0 && (i + 1) % n! === 0;
  for (; i < options.count; i++) {
    if (every(options.duplicateEvery) && out.length > 0) {
      const original = resendCandidate(out, i);
      if (original) {
        out.push({ key: original.key, value: original.value, event: null, kind: 'duplicate' });
        continue;
      }
    }
    let event = generator.next();
    if (every(options.malformedEvery)) {
      const kind = MALFORMED_KINDS[Math.floor((i + 1) / options.malformedEvery!) % MALFORMED_KINDS.length]!;
      const raw = kind.make(event);
      out.push({
        key: event.streamId,
        value: Buffer.isBuffer(raw) ? raw : Buffer.from(raw),
        event: null,
        kind: 'malformed',
        expectedReason: kind.reason,
      });
      continue;
    }
    if (every(options.lateEvery)) event = { ...event, ts: event.ts - (options.lateByMs ?? 90 * 60_000) };
    out.push({ key: event.streamId, value: encodeEvent(event), event, kind: 'valid' });
  }
  return out;
}

/** A valid message among the last few hundred, picked deterministically. */
function resendCandidate(out: DatasetMessage[], i: number): DatasetMessage | undefined {
  for (let back = 1 + ((i * 7919) % 500); back > 0; back--) {
    const m = out[out.length - back];
    if (m?.kind === 'valid') return m;
  }
  return undefined;
}

export type ExpectedTotals = MeasureTotals;

/**
 * Expected totals per scope: the counting rule applied to the events in its plainest
 * form (tally), the oracle the pipeline's planner and SQL are compared with.
 */
export function expectedTotals(events: Iterable<LiveEvent>): Map<string, ExpectedTotals> {
  return tally(events);
}
