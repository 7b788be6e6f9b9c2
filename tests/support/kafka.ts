import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { topicReplication } from '@livetally/events';
import { RedisCounterStore, keySpace, partitionTag, waitUntilDurable, type AnyRedis } from '@livetally/live-state';
import { STACK, waitFor } from './stack';

export function testKafka(clientId = 'livetally-tests'): Kafka {
  return new Kafka({ clientId, brokers: STACK.kafkaBrokers, logLevel: logLevel.NOTHING });
}

/**
 * `configEntries`: topic settings such as max.message.bytes. Topics are replicated as
 * the stack's are (topicReplication): on three brokers, three copies and
 * min.insync.replicas=2; on one, a single copy.
 */
export async function createTopics(
  kafka: Kafka,
  topics: { topic: string; numPartitions: number; configEntries?: { name: string; value: string }[] }[],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // describeCluster reads every topic's metadata, and kafkajs throws while any partition of
    // any topic elects a leader (e.g. just after a broker restart): ask again until it answers.
    const brokers = (await waitFor('the cluster description', () => admin.describeCluster(), 30_000, 200)).brokers;
    const { replicationFactor, minInsyncReplicas } = topicReplication(brokers.length);
    const minInsync = { name: 'min.insync.replicas', value: String(minInsyncReplicas) };
    await admin.createTopics({
      topics: topics.map((t) => ({ ...t, replicationFactor, configEntries: [...(t.configEntries ?? []), minInsync] })),
      waitForLeaders: false,
    });
    // Not kafkajs' own wait: with several brokers, the one it asks may not know the new
    // topic for a moment, which it reports as an error instead of waiting.
    const names = topics.map((t) => t.topic);
    await waitFor(
      `leaders of ${names.join(', ')}`,
      async () =>
        (await admin.fetchTopicMetadata({ topics: names })).topics.every(
          (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
        ),
      30_000,
      100,
    );
  } finally {
    await admin.disconnect();
  }
}

/** The leader's node id of each partition of `topic`, and each partition's in-sync replicas. */
export async function partitionReplicas(
  kafka: Kafka,
  topic: string,
): Promise<Map<number, { leader: number; isr: number[] }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // A broker may not know a topic created moments ago through another one.
    const [metadata] = (
      await waitFor(`metadata of ${topic}`, () => admin.fetchTopicMetadata({ topics: [topic] }), 10_000, 200)
    ).topics;
    return new Map(metadata!.partitions.map((p) => [p.partitionId, { leader: p.leader, isr: p.isr }]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * The __consumer_offsets partition Kafka hashes `groupId` to (Java's String.hashCode, made
 * non-negative, modulo the partition count): its leader is the group's coordinator, and the
 * group's joins and commits are written to it. The topic exists once some group has asked
 * for its coordinator.
 */
export async function groupOffsetsPartition(kafka: Kafka, groupId: string): Promise<number> {
  const partitions = await partitionReplicas(kafka, '__consumer_offsets');
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
  const nonNegative = hash === -2147483648 ? 0 : Math.abs(hash);
  return nonNegative % partitions.size;
}

/** The node id of `groupId`'s coordinator. */
export async function groupCoordinator(kafka: Kafka, groupId: string): Promise<number> {
  const partition = await groupOffsetsPartition(kafka, groupId);
  return (await partitionReplicas(kafka, '__consumer_offsets')).get(partition)!.leader;
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
  } catch {
    // best effort: a leftover topic costs only disk
  } finally {
    await admin.disconnect();
  }
}

/** Every offset that exists on the topic, as "partition@offset". */
export async function allOffsets(kafka: Kafka, topic: string): Promise<Set<string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out = new Set<string>();
    for (const p of await admin.fetchTopicOffsets(topic)) {
      for (let o = Number(p.low); o < Number(p.high); o++) out.add(`${p.partition}@${o}`);
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

export interface ConsumedMessage {
  partition: number;
  offset: string;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning up to its current end (every partition's high
 * watermark), and at least `atLeast` messages; bounded by a timeout.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  atLeast: number,
  timeoutMs = 60_000,
): Promise<ConsumedMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const reached = (p: number, offset: number) => offset + 1 >= (ends.get(p) ?? 0);
  const pending = new Set([...ends].filter(([, high]) => high > 0).map(([p]) => p));
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const out: ConsumedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  if (pending.size === 0 && atLeast === 0) done();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out.push({ partition, offset: message.offset, value: message.value, headers: headersToStrings(message.headers) });
      if (reached(partition, Number(message.offset))) pending.delete(partition);
      if (pending.size === 0 && out.length >= atLeast) done();
    },
  });
  const timer = setTimeout(done, timeoutMs);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return out;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k] = Array.isArray(v) ? String(v[0]) : String(v ?? '');
  return out;
}

/**
 * Waits until the ingest workers have applied every partition of `topic` up to its
 * last message (`appliedOffsets`: RedisCounterStore's view); on timeout the error
 * carries `diagnostics()` (the workers' output).
 */
export async function waitUntilApplied(
  kafka: Kafka,
  topic: string,
  appliedOffsets: () => Promise<Map<number, string>>,
  diagnostics: () => string,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, String(Number(p.high) - 1)]));
  await admin.disconnect();
  await waitFor(
    'every partition applied to its end',
    async () => {
      const applied = await appliedOffsets();
      return [...ends].every(([p, last]) => applied.get(p) === last);
    },
    90_000,
    250,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${diagnostics()}`);
  });
}

/**
 * Waits until ClickHouse holds everything Redis applied for the topic (every partition's
 * durable offset reached its applied one): Redis is written first, ClickHouse by the
 * workers' next flush.
 */
export async function waitUntilStored(
  redis: AnyRedis,
  prefix: string,
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  const applied = await new RedisCounterStore(redis, { prefix }).appliedOffsets(topic);
  const keys = keySpace(prefix);
  await waitUntilDurable(redis, (p) => keys.offsets(partitionTag(topic, p)), applied, { timeoutMs });
}
