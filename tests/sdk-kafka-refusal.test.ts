import { logLevel, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { KafkaTransport, type BatchResponse } from '@livetally/sdk';
import { platformEvents } from './support/collector';
import { createTopics, deleteTopics, readTopic, testKafka } from './support/kafka';
import { STACK, uniqueName } from './support/stack';

/**
 * The SDK's Kafka transport (idempotent producer, acks=all) after the broker refuses a
 * batch: one stream's record batch is larger than the topic takes, so the request fails
 * as a whole while the broker wrote the batch's other partitions. kafkajs then takes back
 * the sequence numbers of every partition in the request. A later batch, or one already
 * waiting to be sent, that put as many records on those partitions would be taken by the
 * broker for a resend of what it wrote: acknowledged and dropped. Every event the SDK
 * reports accepted must be on the topic.
 */
const run = uniqueName('sdk-kafka-refusal');
const topic = `lt.${run}`;
const TOPIC_MAX_MESSAGE_BYTES = 16_384;
const SIDE_STREAMS = 12;

/** `count` events of one stream (one key, one partition), ids prefixed by `tag`. */
function streamEvents(tag: string, streamId: string, count: number): LiveEvent[] {
  return platformEvents(tag.length * 7919 + count, count, 'douyin').map((e, i) => ({
    ...e,
    streamId,
    eventId: `${tag}-${i}`,
  }));
}

/** One event on each side stream: records for the other partitions in the same request. */
const sideEvents = (tag: string) =>
  Array.from({ length: SIDE_STREAMS }, (_, i) => streamEvents(`${tag}-${i}`, `${run}-side-${i}`, 1)[0]!);

const transport = () =>
  new KafkaTransport({ brokers: STACK.kafkaBrokers, topic, clientId: run, kafka: { logLevel: logLevel.NOTHING } });

describe('SDK over Kafka: a batch the broker refuses as too large', () => {
  let kafka: Kafka;
  const expectAccepted = (response: BatchResponse | undefined, events: LiveEvent[]) =>
    expect(response).toEqual({ kind: 'results', results: events.map(() => ({ status: 'accepted' })) });
  /** Every event of batches answered as stored is on the topic. */
  const expectOnTopic = async (acknowledged: LiveEvent[]) => {
    const stored = new Set(
      (await readTopic(kafka, topic, acknowledged.length, 30_000)).map(
        (m) => (JSON.parse(m.value!.toString()) as LiveEvent).eventId,
      ),
    );
    expect(acknowledged.map((e) => e.eventId).filter((id) => !stored.has(id))).toEqual([]);
  };

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      {
        topic,
        numPartitions: 4,
        configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }],
      },
    ]);
  });

  afterAll(async () => {
    await deleteTopics(kafka, [topic]);
  });

  it('reports the refused batch as failed for good and stores the next one, as many records per partition', async () => {
    const sdk = transport();
    try {
      const refused = await sdk.sendBatch([...streamEvents('hot-1', `${run}-hot-1`, 300), ...sideEvents('side-1')]);
      expect(refused.kind).toBe('fatal');
      const next = sideEvents('side-2');
      expectAccepted(await sdk.sendBatch(next), next);
      await expectOnTopic(next);
    } finally {
      await sdk.close();
    }
  });

  it('stores the batches handed over together with a refused one', async () => {
    const sdk = transport();
    try {
      const alongside = [sideEvents('side-4'), sideEvents('side-5')];
      const [refused, ...others] = await Promise.all([
        sdk.sendBatch([...streamEvents('hot-2', `${run}-hot-2`, 300), ...sideEvents('side-3')]),
        ...alongside.map((events) => sdk.sendBatch(events)),
      ]);
      expect(refused!.kind).toBe('fatal');
      alongside.forEach((events, i) => expectAccepted(others[i], events));
      await expectOnTopic(alongside.flat());
    } finally {
      await sdk.close();
    }
  });
});
