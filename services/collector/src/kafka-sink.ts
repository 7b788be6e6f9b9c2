import type { Logger } from '@livetally/logging';
import type { ProducerRecord } from 'kafkajs';
import type { KafkaMessage } from './batch';

/** Where accepted events go; the app depends on this interface only (tests inject a fake). */
export interface EventSink {
  /** Resolves once Kafka acknowledged every message (acks=all); rejects with SinkUnavailableError otherwise. */
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

/** The part of a kafkajs producer the sink uses. */
export interface ProducerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: ProducerRecord): Promise<unknown>;
}

export type ProduceOutcome = 'ok' | 'error' | 'timeout';

export interface SinkObserver {
  onProduce?(seconds: number, outcome: ProduceOutcome, events: number): void;
  onPending?(events: number): void;
}

export interface KafkaSinkOptions {
  producer: ProducerLike;
  topic: string;
  /** How long a request waits for Kafka's acknowledgement before answering 503. */
  timeoutMs: number;
  /** Events handed to the producer and not yet settled (timed-out sends included) above which sends are refused at once. */
  maxPendingEvents: number;
  logger: Logger;
  /** After a failed or timed-out send, refuse at once for this long rather than queueing more waits. */
  cooldownMs?: number;
  /**
   * Requests that arrive while a produce request is in flight are combined into the next
   * one, up to this many value bytes (default 1 MiB, which keeps each partition's share
   * under the broker's default message.max.bytes on any partition count).
   */
  maxCombinedBytes?: number;
  observer?: SinkObserver;
  now?: () => number;
}

/**
 * Owns the idempotent kafkajs producer: connects in the background (the collector
 * listens and answers 503 while Kafka is away), bounds every send by a timeout, and
 * after a failure sheds load for a short cooldown. A timed-out send keeps running in
 * kafkajs and may still land; that is why 503 tells the sender to resend the same
 * eventIds, which the pipeline then counts once.
 */
export class KafkaEventSink implements EventSink {
  private connected = false;
  private stopping = false;
  private pending = 0;
  private failedUntil = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly queue: { messages: readonly KafkaMessage[]; bytes: number; done: (err?: Error) => void }[] = [];
  private draining = false;
  private connectLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(private readonly options: KafkaSinkOptions) {
    this.cooldownMs = options.cooldownMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  /** Starts connecting; retries with backoff until connected or stopped. */
  start(): void {
    this.connectLoop ??= (async () => {
      for (let attempt = 1; !this.stopping; attempt++) {
        try {
          await this.options.producer.connect();
          // stop() ran while connecting: its disconnect came too early to close this connection.
          if (this.stopping) return void (await this.options.producer.disconnect().catch(() => undefined));
          this.connected = true;
          this.options.logger.info({ topic: this.options.topic }, 'connected to Kafka');
          return;
        } catch (err) {
          const waitMs = Math.min(10_000, 500 * 2 ** Math.min(attempt - 1, 5));
          this.options.logger.warn({ err: (err as Error).message, attempt, retryInMs: waitMs }, 'cannot connect to Kafka; requests are answered 503 until it answers');
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
    if (this.pending + messages.length > this.options.maxPendingEvents) throw new SinkUnavailableError('too many events are waiting for Kafka', this.cooldownMs);

    const started = this.now();
    const { sending, cancel } = this.enqueue(messages);
    this.track(sending, messages.length);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.options.timeoutMs)));
    try {
      const outcome = await Promise.race([sending.then(() => 'ok' as const), timedOut]);
      this.observe(started, outcome, messages.length);
      if (outcome === 'timeout') {
        cancel();
        this.fail();
        throw new SinkUnavailableError(`Kafka did not acknowledge within ${this.options.timeoutMs} ms`, this.cooldownMs);
      }
    } catch (err) {
      if (err instanceof SinkUnavailableError) throw err;
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
    await this.options.producer.disconnect().catch((err: Error) => this.options.logger.warn({ err: err.message }, 'producer disconnect failed'));
  }

  /**
   * The producer runs one produce request at a time (maxInFlightRequests 1 keeps the
   * idempotent sequence simple); what queues up meanwhile goes out together in the next
   * request. Each caller's promise settles with the request that carried its messages.
   * `cancel` drops messages not yet handed to the producer (their caller was already
   * answered 503 and will resend; sending them later would only make copies).
   */
  private enqueue(messages: readonly KafkaMessage[]): { sending: Promise<void>; cancel: () => void } {
    let entry!: (typeof this.queue)[number];
    const sending = new Promise<void>((resolve, reject) => {
      const bytes = messages.reduce((sum, m) => sum + m.value.length, 0);
      entry = { messages, bytes, done: (err) => (err ? reject(err) : resolve()) };
      this.queue.push(entry);
    });
    void this.drain();
    const cancel = () => {
      const i = this.queue.indexOf(entry);
      if (i >= 0) this.queue.splice(i, 1)[0]!.done(new Error('dropped before sending: the request timed out'));
    };
    return { sending, cancel };
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      const limit = this.options.maxCombinedBytes ?? 1_048_576;
      while (this.queue.length > 0) {
        let bytes = this.queue[0]!.bytes;
        let n = 1;
        while (n < this.queue.length && bytes + this.queue[n]!.bytes <= limit) bytes += this.queue[n++]!.bytes;
        const group = this.queue.splice(0, n);
        try {
          await this.options.producer.send({ topic: this.options.topic, acks: -1, messages: group.flatMap((g) => g.messages.map((m) => ({ key: m.key, value: m.value }))) });
          for (const g of group) g.done();
        } catch (err) {
          for (const g of group) g.done(err as Error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private track(sending: Promise<unknown>, events: number): void {
    this.pending += events;
    this.options.observer?.onPending?.(this.pending);
    const settled: Promise<void> = sending.then(
      () => undefined,
      () => undefined, // reported by send(), or by nobody if it already timed out
    ).finally(() => {
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
