import type { Redis } from 'ioredis';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { keySpace, waitUntilDurable } from '@livetally/live-state';
import { STACK, waitFor } from './stack';

export function testKafka(clientId = 'livetally-tests'): Kafka {
  return new Kafka({ clientId, brokers: STACK.kafkaBrokers, logLevel: logLevel.NOTHING });
}

/** `configEntries`: topic settings such as max.message.bytes. */
export async function createTopics(
  kafka: Kafka,
  topics: { topic: string; numPartitions: number; configEntries?: { name: string; value: string }[] }[],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
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
export async function waitUntilStored(redis: Redis, prefix: string, topic: string, timeoutMs = 60_000): Promise<void> {
  const key = keySpace(prefix).appliedOffsets(topic);
  const hash = await redis.hgetall(key);
  const applied = new Map(
    Object.entries(hash)
      .filter(([field]) => /^\d+$/.test(field))
      .map(([p, o]) => [Number(p), o] as const),
  );
  await waitUntilDurable(redis, key, applied, { timeoutMs });
}
