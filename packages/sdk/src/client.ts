import { randomUUID } from 'node:crypto';
import { validateEvent, type LiveEvent } from '@livetally/events';
import { retryDelayMs } from './backoff';
import { HttpTransport, type HttpTransportOptions } from './http-transport';
import { KafkaTransport, type KafkaTransportOptions } from './kafka-transport';
import {
  systemScheduler,
  type EventInput,
  type EventOutcome,
  type FailedOutcome,
  type FlushReport,
  type Scheduler,
  type Transport,
} from './types';

export interface ClientTuning {
  /** Fills in `platform` when an event has none (the HTTP collector only takes the key's own platform). */
  platform?: string;
  /** A batch is sent once it holds this many events (default 500; the collector takes up to 1000)… */
  maxBatchEvents?: number;
  /** …or this many bytes of JSON (default 512 KiB; the collector takes up to 1 MiB)… */
  maxBatchBytes?: number;
  /** …or when its first event has waited this long (default 50 ms). */
  lingerMs?: number;
  /** Batches on the wire at once (default 4). */
  maxInFlightBatches?: number;
  /** Attempts per batch before its events are reported failed (default 8). */
  maxAttempts?: number;
  /** …and the time from a batch's first attempt after which no new attempt starts (default 60 s). */
  giveUpAfterMs?: number;
  /** Backoff: full jitter between 0 and min(maxBackoffMs, baseBackoffMs·2^(attempt-1)) (defaults 200 ms, 10 s). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Events held (buffered, queued or on the wire) above which send() fails fast with "buffer full" (default 100 000). */
  maxBufferedEvents?: number;
  /** Injection points for tests. */
  scheduler?: Scheduler;
  random?: () => number;
  newEventId?: () => string;
}

export type ClientOptions =
  | ({ transport: 'http' } & HttpTransportOptions & ClientTuning)
  | ({ transport: 'kafka' } & KafkaTransportOptions & ClientTuning)
  | ({ transport: Transport } & ClientTuning);

export interface LiveTallyClient {
  /** Validates, stamps (eventId, ts once) and buffers the event; resolves when it settled. Never rejects, except after close(). */
  send(event: EventInput): Promise<EventOutcome>;
  sendMany(events: readonly EventInput[]): Promise<EventOutcome[]>;
  /** Sends what is buffered and waits until every event handed over so far settled. */
  flush(): Promise<FlushReport>;
  /** flush(), then refuses further sends and releases the transport. Idempotent. */
  close(): Promise<FlushReport>;
}

interface Pending {
  event: LiveEvent;
  bytes: number;
  settle(outcome: EventOutcome): void;
}

export function createLiveTallyClient(options: ClientOptions): LiveTallyClient {
  const transport =
    typeof options.transport === 'object'
      ? options.transport
      : options.transport === 'http'
        ? new HttpTransport(options as HttpTransportOptions)
        : new KafkaTransport(options as KafkaTransportOptions);
  return new Client(transport, options);
}

class Client implements LiveTallyClient {
  private readonly t: Required<Omit<ClientTuning, 'platform'>> & { platform?: string };
  private buffer: Pending[] = [];
  private bufferBytes = 0;
  private linger: unknown;
  private readonly queue: Pending[][] = [];
  private readonly active = new Set<Promise<void>>();
  private held = 0;
  private report: FlushReport = { accepted: 0, duplicates: 0, failed: [] };
  private closing: Promise<FlushReport> | undefined;

  constructor(
    private readonly transport: Transport,
    tuning: ClientTuning,
  ) {
    this.t = {
      platform: tuning.platform,
      maxBatchEvents: tuning.maxBatchEvents ?? 500,
      maxBatchBytes: tuning.maxBatchBytes ?? 512 * 1024,
      lingerMs: tuning.lingerMs ?? 50,
      maxInFlightBatches: tuning.maxInFlightBatches ?? 4,
      maxAttempts: tuning.maxAttempts ?? 8,
      giveUpAfterMs: tuning.giveUpAfterMs ?? 60_000,
      baseBackoffMs: tuning.baseBackoffMs ?? 200,
      maxBackoffMs: tuning.maxBackoffMs ?? 10_000,
      maxBufferedEvents: tuning.maxBufferedEvents ?? 100_000,
      scheduler: tuning.scheduler ?? systemScheduler,
      random: tuning.random ?? Math.random,
      newEventId: tuning.newEventId ?? randomUUID,
    };
  }

  send(input: EventInput): Promise<EventOutcome> {
    if (this.closing) return Promise.reject(new Error('the LiveTally client is closed'));
    // Stamped once, here: every retry of this event carries the same eventId and ts, which is
    // what lets the pipeline recognise a resend and count it once.
    const stamped = {
      v: 1,
      ...input,
      eventId: input.eventId ?? this.t.newEventId(),
      ts: input.ts ?? this.t.scheduler.now(),
      platform: input.platform ?? this.t.platform,
    };
    const checked = validateEvent(stamped, { now: this.t.scheduler.now() });
    if (!checked.ok)
      return Promise.resolve(
        this.record({
          status: 'rejected',
          eventId: typeof stamped.eventId === 'string' ? stamped.eventId : null,
          errors: checked.errors,
        }),
      );
    const event = checked.event;
    if (this.held >= this.t.maxBufferedEvents) {
      return Promise.resolve(
        this.record({
          status: 'failed',
          eventId: event.eventId,
          event,
          error: `buffer full (${this.t.maxBufferedEvents} events waiting)`,
          code: 'BUFFER_FULL',
          attempts: 0,
        }),
      );
    }
    return new Promise<EventOutcome>((resolve) => {
      const bytes = Buffer.byteLength(JSON.stringify(event));
      if (this.buffer.length > 0 && this.bufferBytes + bytes > this.t.maxBatchBytes) this.dispatch();
      this.held++;
      this.buffer.push({
        event,
        bytes,
        settle: (outcome) => {
          this.held--;
          resolve(this.record(outcome));
        },
      });
      this.bufferBytes += bytes;
      if (this.buffer.length >= this.t.maxBatchEvents) this.dispatch();
      else this.linger ??= this.t.scheduler.setTimeout(() => this.dispatch(), this.t.lingerMs);
    });
  }

  sendMany(events: readonly EventInput[]): Promise<EventOutcome[]> {
    return Promise.all(events.map((e) => this.send(e)));
  }

  async flush(): Promise<FlushReport> {
    this.dispatch();
    // Bounded: every batch ends after maxAttempts or giveUpAfterMs.
    while (this.active.size > 0 || this.queue.length > 0) {
      if (this.active.size === 0) this.pump();
      await Promise.allSettled([...this.active]);
    }
    const report = this.report;
    this.report = { accepted: 0, duplicates: 0, failed: [] };
    return report;
  }

  close(): Promise<FlushReport> {
    this.closing ??= (async () => {
      const report = await this.flush();
      await this.transport.close();
      return report;
    })();
    return this.closing;
  }

  /** Moves the buffer into the send queue. */
  private dispatch(): void {
    if (this.linger !== undefined) this.t.scheduler.clearTimeout(this.linger);
    this.linger = undefined;
    if (this.buffer.length === 0) return;
    this.queue.push(this.buffer);
    this.buffer = [];
    this.bufferBytes = 0;
    this.pump();
  }

  private pump(): void {
    while (this.active.size < this.t.maxInFlightBatches && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      const task: Promise<void> = this.deliver(batch).finally(() => {
        this.active.delete(task);
        this.pump();
      });
      this.active.add(task);
    }
  }

  /** Sends one batch until it is answered, refused for good, or the retry bound is reached. */
  private async deliver(batch: Pending[]): Promise<void> {
    const events = batch.map((p) => p.event);
    const { scheduler } = this.t;
    const started = scheduler.now();
    let reason = '';
    let attempt = 1;
    for (; ; attempt++) {
      const response = await this.transport
        .sendBatch(events)
        .catch((err: Error) => ({ kind: 'retry' as const, reason: err.message, retryAfterMs: undefined }));
      if (response.kind === 'results') {
        batch.forEach((p, i) => {
          const r = response.results[i];
          const eventId = p.event.eventId;
          if (r?.status === 'accepted') p.settle({ status: 'accepted', eventId, attempts: attempt });
          else if (r?.status === 'duplicate_in_batch') p.settle({ status: 'duplicate', eventId, attempts: attempt });
          else p.settle({ status: 'rejected', eventId, errors: r?.errors ?? [] });
        });
        return;
      }
      if (response.kind === 'fatal') {
        for (const p of batch)
          p.settle({
            status: 'failed',
            eventId: p.event.eventId,
            event: p.event,
            error: response.reason,
            code: response.code,
            attempts: attempt,
          });
        return;
      }
      reason = response.reason;
      if (attempt >= this.t.maxAttempts) break;
      const waitMs = retryDelayMs(
        attempt,
        { baseMs: this.t.baseBackoffMs, maxMs: this.t.maxBackoffMs },
        this.t.random,
        response.retryAfterMs,
      );
      if (scheduler.now() + waitMs - started > this.t.giveUpAfterMs) break;
      await new Promise<void>((resolve) => scheduler.setTimeout(resolve, waitMs));
    }
    for (const p of batch)
      p.settle({
        status: 'failed',
        eventId: p.event.eventId,
        event: p.event,
        error: `gave up after ${attempt} attempt(s): ${reason}`,
        code: 'GAVE_UP',
        attempts: attempt,
      });
  }

  private record(outcome: EventOutcome): EventOutcome {
    if (outcome.status === 'accepted') this.report.accepted++;
    else if (outcome.status === 'duplicate') this.report.duplicates++;
    else this.report.failed.push(outcome as FailedOutcome);
    return outcome;
  }
}
