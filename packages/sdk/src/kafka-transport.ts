import type { KafkaConfig, Producer } from 'kafkajs';
import { TOPICS, encodeEvent, type LiveEvent } from '@livetally/events';
import type { BatchResponse, Transport } from './types';

export interface KafkaTransportOptions {
  brokers: string[];
  /** Default TOPICS.events (livetally.events). */
  topic?: string;
  clientId?: string;
  /** Bounds one batch's wait for the acknowledgement (default 30 s); a timeout is retried. */
  sendTimeoutMs?: number;
  /** Extra kafkajs settings (ssl, sasl, logLevel…). */
  kafka?: Partial<KafkaConfig>;
}

/**
 * Produces straight to Kafka, for producers inside the trusted network (Kafka's ACLs are
 * the boundary here, not API keys). Idempotent producer, acks=all, key = streamId — the
 * same contract as the collector. kafkajs is loaded on first use, so HTTP-only users
 * never load it.
 */
export class KafkaTransport implements Transport {
  private producer: Promise<Producer> | undefined;

  constructor(private readonly options: KafkaTransportOptions) {}

  async sendBatch(events: readonly LiveEvent[]): Promise<BatchResponse> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const producer = await this.connect();
      const sending = producer.send({
        topic: this.options.topic ?? TOPICS.events,
        acks: -1,
        messages: events.map((e) => ({ key: e.streamId, value: encodeEvent(e) })),
      });
      sending.catch(() => undefined); // if the timeout wins, a late failure has nobody to tell
      const timeoutMs = this.options.sendTimeoutMs ?? 30_000;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      if ((await Promise.race([sending, timedOut])) === 'timeout')
        return { kind: 'retry', reason: `Kafka did not acknowledge within ${timeoutMs} ms` };
      return { kind: 'results', results: events.map(() => ({ status: 'accepted' as const })) };
    } catch (err) {
      // kafkajs marks what is worth retrying (connection loss, leader moves…); the rest is fatal.
      const e = err as Error & { retriable?: boolean };
      return e.retriable === false ? { kind: 'fatal', reason: e.message } : { kind: 'retry', reason: e.message };
    } finally {
      clearTimeout(timer);
    }
  }

  private connect(): Promise<Producer> {
    this.producer ??= (async () => {
      const { Kafka, Partitioners, logLevel } = await import('kafkajs');
      const kafka = new Kafka({
        clientId: this.options.clientId ?? 'livetally-sdk',
        brokers: this.options.brokers,
        logLevel: logLevel.ERROR,
        ...this.options.kafka,
      });
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      return producer;
    })().catch((err: unknown) => {
      this.producer = undefined;
      throw err;
    });
    return this.producer;
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await (await producer?.catch(() => undefined))?.disconnect();
  }
}
