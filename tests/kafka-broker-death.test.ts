import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { KafkaTransport } from '@livetally/sdk';
import { newApiKey, platformEvents, startCollectorProcess } from './support/collector';
import { startKafkaCluster, type DedicatedKafkaCluster } from './support/dedicated';
import { createTopics, partitionReplicas, readTopic } from './support/kafka';
import { uniqueName, waitFor } from './support/stack';

/**
 * A send on the wire while one of three brokers dies under it, made deterministic: the
 * broker that leads partition 0 is stopped (SIGSTOP), a batch for every partition is
 * handed over, the other brokers store and acknowledge their partitions once the stopped
 * one is fenced and its partitions have new leaders among them, and only then is it
 * killed, which fails the request waiting on it. kafkajs retries that request, finds its
 * partitions led by brokers that already answered the send, sends them nothing and
 * reports the send done (its issue 1303). The SDK's Kafka transport and the collector
 * must not acknowledge events Kafka does not hold: every event is on the topic, once.
 */
const EVENTS = 400;
let cluster: DedicatedKafkaCluster;
let kafka: Kafka;

beforeAll(async () => {
  cluster = await startKafkaCluster(3);
  kafka = new Kafka({ brokers: cluster.url.split(','), logLevel: logLevel.NOTHING });
}, 120_000);

afterAll(async () => {
  await cluster?.remove();
});

/** A fresh topic on six partitions (three copies each) and events of many streams, so all six get some. */
async function freshTopic(label: string): Promise<{ topic: string; events: LiveEvent[] }> {
  const topic = `lt.${uniqueName(label)}`;
  await createTopics(kafka, [{ topic, numPartitions: 6 }]);
  return {
    topic,
    events: platformEvents(topic.length * 31, EVENTS, 'douyin').map((e) => ({
      ...e,
      eventId: `${topic}-${e.eventId}`,
    })),
  };
}

/**
 * Runs `send` while the leader of partition 0 stops, is fenced, and is killed once the
 * others have had time to answer; starts it again afterwards. Returns what `send` returned.
 */
async function whileLeaderDies<T>(topic: string, send: () => Promise<T>): Promise<T> {
  const victim = (await partitionReplicas(kafka, topic)).get(0)!.leader;
  const node = cluster.nodes[victim - 1]!;
  // Metadata from the other brokers: the stopped one still accepts connections (the kernel
  // does) but answers nothing, so a request that goes there anyway gives up soon.
  const others = new Kafka({
    brokers: cluster.url.split(',').filter((b) => b !== node.url),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
  });
  const t0 = Date.now();
  const note = (what: string) => process.stdout.write(`[broker-death] +${Date.now() - t0} ms ${what}\n`);
  // A follower starved of CPU for replica.lag.time.max.ms drops out of the in-sync set; a
  // partition whose only in-sync copy is the victim would have no leader once it is fenced
  // (no unclean election), which is another scenario. Stop it only while every partition
  // has the copies acks=all needs (min.insync.replicas = 2) in sync.
  await waitFor(`two copies of every partition of ${topic} in sync`, () => inSync(kafka, topic, 2), 120_000, 250);
  note('every partition has two copies in sync');
  node.signal('SIGSTOP');
  const sending = send();
  void sending.then(() => note('send settled'));
  sending.catch(() => undefined); // awaited below
  await waitFor(
    `broker ${victim} out of every in-sync replica set`,
    async () => [...(await partitionReplicas(others, topic)).values()].every((p) => !p.isr.includes(victim)),
    60_000,
    250,
  );
  note(`broker ${victim} fenced`);
  await sleep(1_500); // the other brokers' acknowledgements, now possible, reach the producer
  node.signal('SIGKILL');
  await waitFor(`broker ${victim} to exit`, async () => !node.running(), 10_000, 50);
  note(`broker ${victim} killed`);
  try {
    return await sending;
  } finally {
    await node.start();
    // The next test creates a topic, and kafkajs fails any cluster-wide metadata read while
    // some partition has no leader: wait until the topic is whole again.
    await waitFor(`two copies of every partition of ${topic} in sync`, () => inSync(kafka, topic, 2), 120_000, 250);
    note(`every partition has two copies in sync again`);
  }
}

/** Every partition of `topic` has a leader and at least `copies` in-sync replicas. */
async function inSync(client: Kafka, topic: string, copies: number): Promise<boolean> {
  const partitions = [...(await partitionReplicas(client, topic)).values()];
  return partitions.every((p) => p.leader >= 0 && p.isr.length >= copies);
}

/** Every event on the topic, exactly once. */
async function expectStoredOnce(topic: string, events: LiveEvent[]): Promise<void> {
  const ids = (await readTopic(kafka, topic, events.length, 30_000)).map(
    (m) => (JSON.parse(m.value!.toString()) as LiveEvent).eventId,
  );
  const missing = events.map((e) => e.eventId).filter((id) => !ids.includes(id));
  expect({ missing: missing.length, stored: ids.length }).toEqual({ missing: 0, stored: events.length });
}

describe('a send while the leader of some of its partitions dies', () => {
  it('SDK over Kafka: acknowledges the batch only once every event is stored', { timeout: 180_000 }, async () => {
    const { topic, events } = await freshTopic('broker-death-sdk');
    const sdk = new KafkaTransport({
      brokers: cluster.url.split(','),
      topic,
      sendTimeoutMs: 90_000,
      kafka: { logLevel: logLevel.NOTHING },
      onResend: (info) => process.stdout.write(`[broker-death-sdk] sending again ${JSON.stringify(info)}\n`),
    });
    try {
      // Connected, with metadata and a producer id, before the broker stops.
      expect((await sdk.sendBatch(events.slice(0, 1))).kind).toBe('results');
      const response = await whileLeaderDies(topic, () => sdk.sendBatch(events.slice(1)));
      expect(response.kind).toBe('results');
      await expectStoredOnce(topic, events);
    } finally {
      await sdk.close();
    }
  });

  it('collector: answers 200 only once every event is stored', { timeout: 180_000 }, async () => {
    const { topic, events } = await freshTopic('broker-death-collector');
    const key = newApiKey('douyin');
    const collector = await startCollectorProcess({
      KAFKA_BROKERS: cluster.url,
      KAFKA_TOPIC: topic,
      COLLECTOR_API_KEYS: `douyin:${key}`,
      COLLECTOR_PRODUCE_TIMEOUT_MS: '90000',
    });
    const post = (batch: LiveEvent[]) => collector.post({ events: batch }, { authorization: `Bearer ${key}` });
    try {
      expect((await post(events.slice(0, 1))).status).toBe(200);
      const response = await whileLeaderDies(topic, () => post(events.slice(1)));
      expect(response.status).toBe(200);
      await expectStoredOnce(topic, events);
    } finally {
      await collector.stop();
    }
  });
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
