import type { KafkaConfig, Producer } from 'kafkajs';
import { TOPICS, encodeEvent, type LiveEvent } from '@livetally/events';
import { completeSends, type CompleteSends, type CompleteSendsObserver } from '@livetally/kafka/complete-send';
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
  /**
   * Told when Kafka left partitions of a send unacknowledged and their records are sent
   * again (kafkajs itself says nothing of that gap), so an application can log it.
   */
  onResend?: CompleteSendsObserver['onResend'];
}

/**
 * Produces straight to Kafka, for producers inside the trusted network (Kafka's ACLs are
 * the boundary here, not API keys). Idempotent producer, acks=all, key = streamId — the
 * same contract as the collector. kafkajs is loaded on first use, so HTTP-only users
 * never load it.
 *
 * One send at a time: kafkajs numbers each partition's records when it builds a request
 * and, when a request fails, takes back the numbers of every partition in it, also of
 * those the broker wrote. A send that took numbers meanwhile, or the next one, would reuse
 * them, and the broker would take its records for a resend of what it already holds:
 * acknowledged, and dropped. So sends wait their turn, and after a failed send the next
 * one gets a new producer (a new producer id has no numbers on the broker yet). The
 * client's batches in flight queue here; with maxInFlightRequests 1 kafkajs sent one
 * request per broker at a time anyway. A send ends once every partition it addresses
 * acknowledged its records (completeSends: kafkajs can report a send done without them
 * when a broker dies under it).
 */
/** kafkajs errors that come from the cluster's state (a broker down, a failover), not from the batch. */
const TRANSIENT_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
]);

/**
 * kafkajs marks what is worth retrying (connection loss, leader moves…). When its own
 * retries run out it throws a non-retriable wrapper even if the cause was a broker that
 * is down for a failover; the client's retries (bounded by giveUpAfterMs) are what should
 * ride that out, so the cause decides. A refusal of the batch itself (too large, invalid)
 * stays fatal.
 */
export function worthRetrying(err: unknown): boolean {
  const e = err as { name?: string; retriable?: boolean; originalError?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name && TRANSIENT_ERRORS.has(e.name)) return true;
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSNonRetriableError') {
    const cause = e.originalError ?? e.cause;
    return cause !== undefined && worthRetrying(cause);
  }
  return e.retriable !== false;
}

export class KafkaTransport implements Transport {
  private producer: Promise<{ producer: Producer; sends: CompleteSends }> | undefined;
  /** The send on the wire (settled or not); the next one starts after it. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: KafkaTransportOptions) {}

  async sendBatch(events: readonly LiveEvent[]): Promise<BatchResponse> {
    let timer: NodeJS.Timeout | undefined;
    let expired = false;
    try {
      // A batch whose time ran out before its turn is not sent: its caller already resends it.
      const sending = this.inTurn(() => (expired ? Promise.resolve() : this.produce(events)));
      sending.catch(() => undefined); // if the timeout wins, a late failure has nobody to tell
      const timeoutMs = this.options.sendTimeoutMs ?? 30_000;
      const timedOut = new Promise<'timeout'>(
        (resolve) =>
          (timer = setTimeout(() => {
            expired = true;
            resolve('timeout');
          }, timeoutMs)),
      );
      if ((await Promise.race([sending, timedOut])) === 'timeout')
        return { kind: 'retry', reason: `Kafka did not acknowledge within ${timeoutMs} ms` };
      return { kind: 'results', results: events.map(() => ({ status: 'accepted' as const })) };
    } catch (err) {
      const reason = (err as Error).message;
      return worthRetrying(err) ? { kind: 'retry', reason } : { kind: 'fatal', reason };
    } finally {
      clearTimeout(timer);
    }
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.turn.then(work);
    this.turn = turn.catch(() => undefined);
    return turn;
  }

  private async produce(events: readonly LiveEvent[]): Promise<void> {
    const connecting = this.connect();
    const { producer, sends } = await connecting;
    try {
      await sends.send(producer, {
        topic: this.options.topic ?? TOPICS.events,
        acks: -1,
        messages: events.map((e) => ({ key: e.streamId, value: encodeEvent(e) })),
      });
    } catch (err) {
      if (this.producer === connecting) this.producer = undefined;
      void producer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private connect(): Promise<{ producer: Producer; sends: CompleteSends }> {
    this.producer ??= (async () => {
      const { Kafka, Partitioners, logLevel } = await loadKafkajs();
      const kafka = new Kafka({
        clientId: this.options.clientId ?? 'livetally-sdk',
        brokers: this.options.brokers,
        logLevel: logLevel.ERROR,
        ...this.options.kafka,
      });
      const sends = completeSends(Partitioners.DefaultPartitioner, { onResend: this.options.onResend });
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: sends.createPartitioner,
      });
      await producer.connect();
      return { producer, sends };
    })().catch((err: unknown) => {
      this.producer = undefined;
      throw err;
    });
    return this.producer;
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await (await producer?.catch(() => undefined))?.producer.disconnect();
  }
}

/**
 * kafkajs is an optional peer dependency of the published SDK. Without it no retry can
 * help, so the batch fails at once (retriable: false) with the fix in the message.
 */
async function loadKafkajs(): Promise<typeof import('kafkajs')> {
  try {
    return await import('kafkajs');
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw Object.assign(new Error('the Kafka transport needs the kafkajs package: npm install kafkajs'), {
      retriable: false,
    });
  }
}
