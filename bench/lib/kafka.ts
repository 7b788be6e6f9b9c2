import { Kafka, logLevel, type Producer } from 'kafkajs';
import { STACK } from './stack';

export function benchKafka(clientId = 'livetally-bench'): Kafka {
  return new Kafka({
    clientId,
    brokers: STACK.kafkaBrokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 200, retries: 8 },
  });
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Topics of one replica; `config`: topic-level settings (retention.bytes…) over the broker's defaults. */
export async function createTopics(
  kafka: Kafka,
  topics: { topic: string; numPartitions: number; config?: Record<string, string> }[],
): Promise<void> {
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      topics: topics.map(({ config = {}, ...t }) => ({
        ...t,
        replicationFactor: 1,
        configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
      })),
      waitForLeaders: true,
    }),
  );
}

/** Best effort: a leftover topic or group costs only disk. */
export async function deleteTopicsAndGroups(kafka: Kafka, topics: string[], groups: string[]): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  }).catch(() => undefined);
}

/** Sum over partitions of the high watermark: how many messages the topic holds. */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) =>
    (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
  );
}

/** Per partition (partition 0 first), the high watermark: the next offset to be written. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<number[]> {
  return withAdmin(kafka, async (admin) =>
    (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.high)),
  );
}

/** Produces messages in chunks (acks from all replicas, as the simulator does); reports progress. */
export async function produceAll(
  producer: Producer,
  topic: string,
  messages: { key: string; value: Buffer }[],
  onProgress?: (sent: number) => void,
  chunk = 5_000,
): Promise<void> {
  let lastReport = Date.now();
  for (let i = 0; i < messages.length; i += chunk) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
    if (onProgress && (Date.now() - lastReport > 2_000 || i + chunk >= messages.length)) {
      onProgress(Math.min(i + chunk, messages.length));
      lastReport = Date.now();
    }
  }
}
