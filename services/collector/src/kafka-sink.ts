import type { ProducerRecord } from 'kafkajs';
import type { Logger } from '@livetally/logging';
import type { KafkaMessage } from './batch';
import { ProduceQueue } from './produce-queue';
import { isTooLargeRefusal, largestStream } from './record-limits';

/** Where accepted events go; the app depends on this interface only (tests inject a fake). */
export interface EventSink {
  /**
   * Resolves once Kafka acknowledged every message (acks=all); rejects with
   * RecordsTooLargeError when the broker refused them as too large, else with SinkUnavailableError.
   */
  send(messages: readonly KafkaMessage[]): Promise<void>;
  isReady(): boolean;
}

/** The send was not confirmed: none, some or all messages may be in Kafka. */
export class SinkUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'SinkUnavailableError';
  }
}

/**
 * The broker refused some of the request's records as too large for one write (a
 * partition's batch over the topic's max.message.bytes): a problem of this request, not
 * of Kafka. Records of the request in other calls or partitions may be stored.
 */
export class RecordsTooLargeError extends Error {
  constructor(readonly largestStream: { streamId: string; events: number; bytes: number } | undefined) {
    super('Kafka refused the records as too large for one write');
    this.name = 'RecordsTooLargeError';
  }
}

/** The part of a kafkajs producer the sink uses. */
export interface ProducerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: ProducerRecord): Promise<unknown>;
}

export type ProduceOutcome = 'ok' | 'error' | 'timeout' | 'too_large';

export interface SinkObserver {
  onProduce?(seconds: number, outcome: ProduceOutcome, events: number): void;
  onPending?(events: number): void;
}

export interface KafkaSinkOptions {
  /** Called once at start and again whenever the producer's state must be thrown away (see renewProducer). */
  createProducer: () => ProducerLike;
  topic: string;
  /** How long a request waits for Kafka's acknowledgement before answering 503. */
  timeoutMs: number;
  /** Events handed to the producer and not yet settled (timed-out sends included) above which sends are refused at once. */
  maxPendingEvents: number;
  logger: Logger;
  /** After a failed or timed-out send, refuse at once for this long rather than queueing more waits. */
  cooldownMs?: number;
  /**
   * Most bytes of records in one produce request: keys, values, headers, record framing
   * and a batch header (ProduceQueue). Each partition's record batch in it is then at most
   * this size, so at or below the topic's max.message.bytes the broker never refuses one.
   */
  maxProduceBytes: number;
  observer?: SinkObserver;
  now?: () => number;
}

/**
 * Owns the idempotent kafkajs producer: connects in the background (the collector
 * listens and answers 503 while Kafka is away), bounds every send by a timeout, and
 * after a failure sheds load for a short cooldown. Records the broker refuses as too
 * large fail only the request that carried them, with no cooldown: the same bytes would
 * be refused on any retry, and other requests are fine. A timed-out send keeps running in
 * kafkajs and may still land; that is why 503 tells the sender to resend the same
 * eventIds, which the pipeline then counts once.
 */
export class KafkaEventSink implements EventSink {
  private connected = false;
  private stopping = false;
  private disconnected = false;
  private pending = 0;
  private failedUntil = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly queue: ProduceQueue;
  private producer: ProducerLike;
  private draining = false;
  private connectLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(private readonly options: KafkaSinkOptions) {
    this.cooldownMs = options.cooldownMs ?? 2_000;
    this.now = options.now ?? Date.now;
    this.queue = new ProduceQueue(options.maxProduceBytes);
    this.producer = options.createProducer();
  }

  /** Starts connecting; retries with backoff until connected or stopped. */
  start(): void {
    this.connectLoop ??= (async () => {
      for (let attempt = 1; !this.stopping; attempt++) {
        try {
          await this.producer.connect();
          // stop() ran while connecting: its disconnect came too early to close this connection.
          if (this.stopping) return void (await this.producer.disconnect().catch(() => undefined));
          this.connected = true;
          this.options.logger.info({ topic: this.options.topic }, 'connected to Kafka');
          return;
        } catch (err) {
          const waitMs = Math.min(10_000, 500 * 2 ** Math.min(attempt - 1, 5));
          this.options.logger.warn(
            { err: (err as Error).message, attempt, retryInMs: waitMs },
            'cannot connect to Kafka; requests are answered 503 until it answers',
          );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, waitMs);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      }
    })();
  }

  isReady(): boolean {
    return this.connected && !this.stopping && this.now() >= this.failedUntil;
  }

  async send(messages: readonly KafkaMessage[]): Promise<void> {
    if (this.stopping) throw new SinkUnavailableError('the collector is shutting down', 1_000);
    if (!this.connected) throw new SinkUnavailableError('not connected to Kafka', this.cooldownMs);
    const coolingMs = this.failedUntil - this.now();
    if (coolingMs > 0) throw new SinkUnavailableError('Kafka failed moments ago', coolingMs);
    if (this.pending + messages.length > this.options.maxPendingEvents)
      throw new SinkUnavailableError('too many events are waiting for Kafka', this.cooldownMs);

    const started = this.now();
    const { sending, cancel } = this.enqueue(messages);
    this.track(sending, messages.length);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), this.options.timeoutMs)),
    );
    try {
      const outcome = await Promise.race([sending.then(() => 'ok' as const), timedOut]);
      this.observe(started, outcome, messages.length);
      if (outcome === 'timeout') {
        cancel();
        this.fail();
        throw new SinkUnavailableError(
          `Kafka did not acknowledge within ${this.options.timeoutMs} ms`,
          this.cooldownMs,
        );
      }
    } catch (err) {
      if (err instanceof SinkUnavailableError) throw err;
      if (err instanceof RecordsTooLargeError) {
        // The request's own problem: no cooldown, readiness untouched, other requests go on.
        this.observe(started, 'too_large', messages.length);
        this.options.logger.warn(
          { events: messages.length, largestStream: err.largestStream, maxProduceBytes: this.options.maxProduceBytes },
          'Kafka refused records as too large; the topic max.message.bytes is below the collector max produce size, or one stream sent more than it takes',
        );
        throw err;
      }
      this.observe(started, 'error', messages.length);
      this.fail();
      this.options.logger.warn({ err: (err as Error).message, events: messages.length }, 'producing to Kafka failed');
      throw new SinkUnavailableError(`Kafka refused the events: ${(err as Error).message}`, this.cooldownMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops connecting, waits up to `waitMs` for sends still running (requests that timed
   * out; answered requests' sends are already settled), then disconnects the producer.
   */
  async stop(waitMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
    }
    this.disconnected = true;
    await this.producer
      .disconnect()
      .catch((err: Error) => this.options.logger.warn({ err: err.message }, 'producer disconnect failed'));
  }

  /** Drops the producer's connections without waiting for sends (a shutdown past its deadline). */
  disconnectNow(): void {
    void this.producer.disconnect().catch(() => undefined);
  }

  /**
   * The producer runs one produce request at a time (maxInFlightRequests 1 keeps the
   * idempotent sequence simple); what queues up meanwhile goes out together in the next
   * request, cut by size by the ProduceQueue. Each caller's promise settles once all of its
   * messages were acknowledged, or with the first failure of a request that held some.
   * `cancel` drops messages not yet handed to the producer (their caller was already
   * answered 503 and will resend; sending them later would only make copies).
   */
  private enqueue(messages: readonly KafkaMessage[]): { sending: Promise<void>; cancel: () => void } {
    let cancel!: () => void;
    const sending = new Promise<void>((resolve, reject) => {
      cancel = this.queue.add(messages, (err) => (err ? reject(err) : resolve()));
    });
    void this.drain();
    return { sending, cancel };
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let call = this.queue.next(); call; call = this.queue.next()) {
        try {
          await this.producer.send({ topic: this.options.topic, acks: -1, messages: [...call.messages] });
          this.queue.acknowledged(call);
        } catch (err) {
          if (!isTooLargeRefusal(err)) {
            this.queue.fail(call, err as Error);
            continue;
          }
          await this.renewProducer();
          if (!this.queue.isolate(call)) this.queue.fail(call, new RecordsTooLargeError(largestStream(call.messages)));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * After a refused produce request kafkajs rolls back the sequence numbers of every
   * partition in it, also of those the broker did write; the next batch there with as many
   * records would be acknowledged as a duplicate and never written (seen on Kafka 3.9). A
   * new producer has a new producer id, with no sequence history on the broker.
   */
  private async renewProducer(): Promise<void> {
    const stale = this.producer;
    this.producer = this.options.createProducer();
    void stale
      .disconnect()
      .catch((err: Error) =>
        this.options.logger.warn({ err: err.message }, 'disconnecting the replaced producer failed'),
      );
    try {
      await this.producer.connect();
      // stop() disconnected while this one was connecting.
      if (this.disconnected) await this.producer.disconnect().catch(() => undefined);
    } catch (err) {
      this.options.logger.warn(
        { err: (err as Error).message },
        'the new producer cannot connect; requests are answered 503 until it does',
      );
      this.connected = false;
      this.connectLoop = undefined;
      this.start();
    }
  }

  private track(sending: Promise<unknown>, events: number): void {
    this.pending += events;
    this.options.observer?.onPending?.(this.pending);
    const settled: Promise<void> = sending
      .then(
        () => undefined,
        () => undefined, // reported by send(), or by nobody if it already timed out
      )
      .finally(() => {
        this.pending -= events;
        this.inFlight.delete(settled);
        this.options.observer?.onPending?.(this.pending);
      });
    this.inFlight.add(settled);
  }

  private fail(): void {
    this.failedUntil = this.now() + this.cooldownMs;
  }

  private observe(started: number, outcome: ProduceOutcome, events: number): void {
    this.options.observer?.onProduce?.((this.now() - started) / 1000, outcome, events);
  }
}
