import type { ICustomPartitioner, Message, Producer, ProducerRecord, RecordMetadata } from 'kafkajs';

/**
 * Sends that end only once every partition they address acknowledged its records.
 *
 * kafkajs (2.2.4; its issue 1303) can resolve a send without writing all of it: when the
 * request to one broker fails (the broker died) and, after the metadata refresh, that
 * broker's partitions are led by brokers that already answered the same send, its retry
 * sends nothing for them. The send succeeds; those records are gone. So the partitioner
 * given to the producer notes the partition of each message, and `send` sends again, on
 * the same producer, the messages of every partition missing from the acknowledgements.
 * With the idempotent producer that cannot write twice: kafkajs took back those
 * partitions' sequence numbers when the request failed, so the resend carries the same
 * numbers, and a new leader that holds the records already (written and replicated just
 * before the old one died) answers them as duplicates.
 *
 * Only type imports from kafkajs: the SDK loads kafkajs lazily and bundles this file.
 */
export interface CompleteSends {
  /** For `kafka.producer({ createPartitioner })`: `base`, noting the partition it gives each message. */
  createPartitioner: ICustomPartitioner;
  /** `producer.send(record)`, repeated for the messages of partitions that went unacknowledged. */
  send(producer: Pick<Producer, 'send'>, record: ProducerRecord): Promise<RecordMetadata[]>;
}

/** Told of every send again, so a service can log it: kafkajs itself says nothing of the gap. */
export interface CompleteSendsObserver {
  /** `round` sends left `messages` messages of `partitions` unacknowledged; they are sent again. */
  onResend?(info: { topic: string; round: number; messages: number; partitions: number[] }): void;
}

/** After this many sends that still left partitions unacknowledged, `send` fails (retriable). */
const MAX_ROUNDS = 10;

export function completeSends(base: ICustomPartitioner, observer: CompleteSendsObserver = {}): CompleteSends {
  const partitionOf = new WeakMap<Message, number>();
  return {
    createPartitioner: () => {
      const choose = base();
      return (args) => {
        const partition = choose(args);
        partitionOf.set(args.message, partition);
        return partition;
      };
    },
    async send(producer, record) {
      const acknowledged: RecordMetadata[] = [];
      let pending = record.messages;
      for (let round = 1; ; round++) {
        const results = await producer.send({ ...record, messages: pending });
        acknowledged.push(...results);
        const done = new Set(
          results.filter((r) => r.topicName === record.topic && r.errorCode === 0).map((r) => r.partition),
        );
        pending = pending.filter((m) => !done.has(partitionOf.get(m) ?? -1));
        if (pending.length === 0) return acknowledged;
        if (round >= MAX_ROUNDS)
          throw Object.assign(
            new Error(`Kafka did not acknowledge ${pending.length} of the records after ${round} sends`),
            { retriable: true },
          );
        const partitions = [...new Set(pending.map((m) => partitionOf.get(m) ?? -1))].sort((a, b) => a - b);
        observer.onResend?.({ topic: record.topic, round, messages: pending.length, partitions });
      }
    },
  };
}
