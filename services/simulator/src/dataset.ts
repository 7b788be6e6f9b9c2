import { encodeEvent, type LiveEvent, type RejectReason } from '@livetally/events';
import { EventGenerator } from './generator';
import { MALFORMED_KINDS } from './malformed';

export interface DatasetMessage {
  key: string;
  value: Buffer;
  /** The valid event this message carries, or null when it is deliberately broken. */
  event: LiveEvent | null;
  expectedReason?: RejectReason;
}

export interface DatasetOptions {
  seed: number;
  count: number;
  /** Every n-th message is replaced by a malformed one (0: none). */
  malformedEvery?: number;
  startTs: number;
  /** Event time advances evenly over this span. */
  spanMs: number;
  hosts?: number;
}

/** A fixed data set: the same options always give the same messages. */
export function buildDataset(options: DatasetOptions): DatasetMessage[] {
  let i = 0;
  const step = options.count > 1 ? options.spanMs / (options.count - 1) : 0;
  const generator = new EventGenerator({ seed: options.seed, hosts: options.hosts, clock: () => Math.floor(options.startTs + i * step) });
  const out: DatasetMessage[] = [];
  for (; i < options.count; i++) {
    const event = generator.next();
    const every = options.malformedEvery ?? 0;
    if (every > 0 && (i + 1) % every === 0) {
      const kind = MALFORMED_KINDS[Math.floor((i + 1) / every) % MALFORMED_KINDS.length]!;
      const raw = kind.make(event);
      out.push({ key: event.streamId, value: Buffer.isBuffer(raw) ? raw : Buffer.from(raw), event: null, expectedReason: kind.reason });
    } else {
      out.push({ key: event.streamId, value: encodeEvent(event), event });
    }
  }
  return out;
}

export interface ExpectedTotals {
  views: number;
  sessions: number;
  sessionsEnded: number;
  salesFen: number;
  refundsFen: number;
  orders: number;
  items: number;
  refunds: number;
}

/**
 * Expected totals per scope, computed directly from the events and independently
 * of the pipeline's own aggregation code.
 */
export function expectedTotals(events: Iterable<LiveEvent>): Map<string, ExpectedTotals> {
  const totals = new Map<string, ExpectedTotals>();
  const bump = (scope: string, e: LiveEvent) => {
    let t = totals.get(scope);
    if (!t) totals.set(scope, (t = { views: 0, sessions: 0, sessionsEnded: 0, salesFen: 0, refundsFen: 0, orders: 0, items: 0, refunds: 0 }));
    if (e.type === 'view') t.views++;
    else if (e.type === 'stream_started') t.sessions++;
    else if (e.type === 'stream_ended') t.sessionsEnded++;
    else if (e.type === 'sale') {
      t.orders++;
      t.items += e.quantity;
      t.salesFen += e.amountFen;
    } else {
      t.refunds++;
      t.refundsFen += e.amountFen;
    }
  };
  for (const e of events) {
    for (const scope of ['all', `city:${e.city}`, `district:${e.district}`, `category:${e.category}`, `platform:${e.platform}`, `host:${e.hostId}`, `stream:${e.streamId}`]) bump(scope, e);
  }
  return totals;
}
