import type { KafkaMessage } from './batch';
import { RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from './record-limits';

/** One request's records on their way to Kafka. */
interface Waiting {
  readonly messages: readonly KafkaMessage[];
  readonly sizes: readonly number[];
  /** The first record not yet put in a produce call. */
  next: number;
  acknowledged: number;
  /** Produce calls holding some of its records that have not come back yet. */
  inFlight: number;
  cancelled: boolean;
  settled: boolean;
  readonly settle: (err?: Error) => void;
}

/** A run of one request's records inside a produce call. */
export interface Part {
  readonly waiting: Waiting;
  readonly from: number;
  readonly to: number;
}

/** One produce request's worth of records; at most one part per request. */
export interface ProduceCall {
  readonly parts: readonly Part[];
  readonly messages: readonly KafkaMessage[];
  /** Estimated size: every record plus one batch header (an upper bound of any partition's batch in it). */
  readonly bytes: number;
}

/**
 * Cuts the records of waiting requests into produce calls of at most `maxProduceBytes`
 * (keys, values, headers and record framing counted), filling each call in arrival
 * order and splitting a request over several calls when it does not fit in one. A
 * request settles once all of its records are acknowledged, or with the first error of
 * a call that held some of them. Pure bookkeeping: the sink sends the calls.
 */
export class ProduceQueue {
  private readonly waiting: Waiting[] = [];
  /** Parts to send each in a call of its own, before anything else (see isolate). */
  private readonly alone: Part[] = [];

  constructor(private readonly maxProduceBytes: number) {}

  get isEmpty(): boolean {
    return this.waiting.length === 0 && this.alone.length === 0;
  }

  /** Queues a request's records; the returned function drops those not yet in a call. */
  add(messages: readonly KafkaMessage[], settle: (err?: Error) => void): () => void {
    const waiting: Waiting = {
      messages,
      sizes: messages.map(recordBytes),
      next: 0,
      acknowledged: 0,
      inFlight: 0,
      cancelled: false,
      settled: false,
      settle,
    };
    this.waiting.push(waiting);
    return () => this.cancel(waiting);
  }

  /** The next call to send, or undefined when nothing waits. Always holds at least one record. */
  next(): ProduceCall | undefined {
    const single = this.alone.shift();
    if (single) return this.call([single]);
    const parts: Part[] = [];
    let bytes = RECORD_BATCH_OVERHEAD_BYTES;
    let count = 0;
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      const from = w.next;
      while (w.next < w.messages.length && (count === 0 || bytes + w.sizes[w.next]! <= this.maxProduceBytes)) {
        bytes += w.sizes[w.next++]!;
        count++;
      }
      if (w.next > from) parts.push({ waiting: w, from, to: w.next });
      if (w.next < w.messages.length) break; // the call is full
      this.waiting.shift();
    }
    return parts.length > 0 ? this.call(parts) : undefined;
  }

  acknowledged(call: ProduceCall): void {
    for (const { waiting: w, from, to } of call.parts) {
      w.inFlight--;
      w.acknowledged += to - from;
      if (w.acknowledged === w.messages.length) this.finish(w);
      else if (w.cancelled && w.inFlight === 0) this.finish(w, droppedError());
    }
  }

  /**
   * When a call that held several requests was refused for its content, each request's
   * part goes again in a call of its own, so that only the request that carried the
   * refused records hears of it. False (nothing changed) when the call held one request.
   */
  isolate(call: ProduceCall): boolean {
    if (call.parts.length < 2) return false;
    for (const part of call.parts) {
      const w = part.waiting;
      w.inFlight--;
      if (w.settled) continue;
      if (!w.cancelled) this.alone.push(part);
      else if (w.inFlight === 0) this.finish(w, droppedError());
    }
    return true;
  }

  /** Settles every request with records in the call with `err`; their other records are not sent. */
  fail(call: ProduceCall, err: Error): void {
    for (const { waiting: w } of call.parts) {
      w.inFlight--;
      this.forget(w);
      this.finish(w, err);
    }
  }

  private call(parts: Part[]): ProduceCall {
    const messages: KafkaMessage[] = [];
    let bytes = RECORD_BATCH_OVERHEAD_BYTES;
    for (const { waiting: w, from, to } of parts) {
      w.inFlight++;
      for (let i = from; i < to; i++) {
        messages.push(w.messages[i]!);
        bytes += w.sizes[i]!;
      }
    }
    return { parts, messages, bytes };
  }

  /** The request's caller was already answered: records not yet in a call are never sent. */
  private cancel(w: Waiting): void {
    if (w.settled) return;
    w.cancelled = true;
    this.forget(w);
    if (w.inFlight === 0) this.finish(w, droppedError());
  }

  private forget(w: Waiting): void {
    const i = this.waiting.indexOf(w);
    if (i >= 0) this.waiting.splice(i, 1);
    for (let j = this.alone.length - 1; j >= 0; j--) if (this.alone[j]!.waiting === w) this.alone.splice(j, 1);
  }

  private finish(w: Waiting, err?: Error): void {
    if (w.settled) return;
    w.settled = true;
    w.settle(err);
  }
}

function droppedError(): Error {
  return new Error('dropped before sending: the request timed out');
}
