import { Partitioners, type Admin, type PartitionMetadata, type Producer } from 'kafkajs';
import type { Logger } from '@livetally/logging';
import {
  isTooLarge,
  letterRecord,
  parkedRecord,
  recordBytes,
  requestBytes,
  splitBySize,
  type LetterRecord,
} from './dead-letter-records';
import type { DeadLetter } from './outcomes';

export { DLQ_HEADERS } from './dead-letter-records';

export interface DeadLetterPublisherOptions {
  producer: Pick<Producer, 'send'>;
  /** Reads the DLQ topic's partitions. */
  admin: Pick<Admin, 'fetchTopicMetadata'>;
  topic: string;
  /** Largest produce request sent (INGEST_DLQ_MAX_REQUEST_BYTES); keep it under the topic's max.message.bytes. */
  maxRequestBytes: number;
  logger: Logger;
  now?: () => number;
}

// Partitions can only be added, and a letter sent by an older count still lands on a
// partition that exists, so the count is read at most once a minute.
const PARTITIONS_TTL_MS = 60_000;

/**
 * The one stage that writes to the dead-letter topic. Every invalid offset gets a letter
 * naming it and why it failed (headers); the value is the original bytes, cut when
 * longer than any valid event (dead-letter-records.ts).
 *
 * A batch's letters go out in requests of at most maxRequestBytes, each to ONE partition
 * chosen here (by key, as the producer would): Kafka then takes or refuses a request
 * whole. A request refused as too large (the topic takes less than configured) is halved
 * and the limit lowered for later requests; a single letter refused is parked: sent
 * without its key and value. So a burst of invalid events never stalls the partition,
 * nor (through the shared fetch) the worker's other partitions.
 */
export class DeadLetterPublisher {
  private maxRequestBytes: number;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private partitions: { metadata: PartitionMetadata[]; readAt: number } | undefined;

  constructor(private readonly options: DeadLetterPublisherOptions) {
    this.maxRequestBytes = options.maxRequestBytes;
  }

  async publish(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const failedAt = new Date((this.options.now ?? Date.now)()).toISOString();
    const metadata = await this.partitionMetadata();
    const byPartition = new Map<number, LetterRecord[]>();
    for (const letter of letters) {
      const record = this.fitted(letterRecord(letter, this.partitionOf(letter, metadata), failedAt), failedAt);
      const records = byPartition.get(record.partition);
      if (records) records.push(record);
      else byPartition.set(record.partition, [record]);
    }
    for (const records of byPartition.values()) await this.sendAll(records, failedAt);
  }

  /** Sends one partition's records in order, halving refused requests and parking refused letters. */
  private async sendAll(records: LetterRecord[], failedAt: string): Promise<void> {
    const { topic } = this.options;
    let queue = splitBySize(topic, records, this.maxRequestBytes);
    while (queue.length > 0) {
      const request = queue.shift()!;
      try {
        await this.options.producer.send({
          topic,
          acks: -1,
          messages: request.map(({ partition, key, value, headers }) => ({ partition, key, value, headers })),
        });
        continue;
      } catch (err) {
        if (!isTooLarge(err)) throw err;
        const bytes = requestBytes(topic, request);
        if (request.length > 1) {
          this.lowerLimit(bytes);
          const half = Math.ceil(request.length / 2);
          queue = [
            request.slice(0, half),
            request.slice(half),
            ...splitBySize(topic, queue.flat(), this.maxRequestBytes),
          ];
          continue;
        }
        const [record] = request as [LetterRecord];
        if (record.parked) {
          throw new Error(
            `dead-letter topic ${topic} refused even a parked letter (${bytes} bytes) for ${record.letter.partition}@${record.letter.offset}: raise the topic's max.message.bytes`,
            { cause: err },
          );
        }
        queue.unshift([this.park(record, failedAt, `refused by ${topic} as too large (${bytes} bytes)`)]);
      }
    }
  }

  /** The record as it is, or parked when it exceeds the request limit even alone. */
  private fitted(record: LetterRecord, failedAt: string): LetterRecord {
    const bytes = requestBytes(this.options.topic, [record]);
    return bytes <= this.options.maxRequestBytes
      ? record
      : this.park(
          record,
          failedAt,
          `larger than INGEST_DLQ_MAX_REQUEST_BYTES (${bytes} > ${this.options.maxRequestBytes} bytes)`,
        );
  }

  private park(record: LetterRecord, failedAt: string, why: string): LetterRecord {
    const { letter } = record;
    this.options.logger.warn(
      {
        partition: letter.partition,
        offset: letter.offset,
        keyBytes: letter.key?.length ?? 0,
        valueBytes: letter.value?.length ?? 0,
        letterBytes: recordBytes(record),
        why,
      },
      'dead letter parked without its key and value',
    );
    return parkedRecord(letter, record.partition, failedAt, why);
  }

  private lowerLimit(refusedBytes: number): void {
    const lowered = Math.max(1, Math.floor(refusedBytes / 2));
    if (lowered >= this.maxRequestBytes) return;
    this.maxRequestBytes = lowered;
    this.options.logger.warn(
      { topic: this.options.topic, refusedBytes, maxRequestBytes: lowered, configured: this.options.maxRequestBytes },
      "the dead-letter topic refused a request as too large; sending smaller requests until restart (lower INGEST_DLQ_MAX_REQUEST_BYTES below the topic's max.message.bytes)",
    );
  }

  /** The producer's own choice for keyed letters; letters without a key follow their source partition. */
  private partitionOf(letter: DeadLetter, metadata: PartitionMetadata[]): number {
    if (letter.key === null) return letter.partition % metadata.length;
    return this.partitioner({
      topic: this.options.topic,
      partitionMetadata: metadata,
      message: { key: letter.key, value: null },
    });
  }

  private async partitionMetadata(): Promise<PartitionMetadata[]> {
    const now = Date.now();
    if (this.partitions && now - this.partitions.readAt < PARTITIONS_TTL_MS) return this.partitions.metadata;
    const { topics } = await this.options.admin.fetchTopicMetadata({ topics: [this.options.topic] });
    const metadata = topics.find((t) => t.name === this.options.topic)?.partitions ?? [];
    if (metadata.length === 0) throw new Error(`dead-letter topic ${this.options.topic} has no partitions`);
    this.partitions = { metadata, readAt: now };
    return metadata;
  }
}
