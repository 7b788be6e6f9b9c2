/**
 * Idempotently ensures the LiveTally Kafka topics exist:
 *
 *   livetally.events      12 partitions
 *   livetally.events.dlq   3 partitions
 *
 * Usage:  node --import tsx infra/create-topics.ts
 *
 * Env:
 *   KAFKA_BROKERS              comma-separated brokers (default 127.0.0.1:9092)
 *   KAFKA_REPLICATION_FACTOR   replication factor for new topics (default: the broker's default.replication.factor);
 *                              when set, new topics also get min.insync.replicas (topicReplication: 3 → 2), the
 *                              script waits until that many brokers are up, and an existing topic with another
 *                              replication factor fails it (infra/stack.sh sets 3 when it runs three brokers)
 *   CREATE_TOPICS_TIMEOUT_MS   how long to wait for the broker to answer (default 60000)
 *
 * Retries until the broker answers metadata requests (it doubles as the
 * "Kafka is ready" check of infra/stack.sh), creates what is missing, grows a
 * topic that has fewer partitions than wanted, and fails (exit 1) with a clear
 * message when the broker never answers or a topic has more partitions than
 * wanted (partitions cannot be removed: `bash infra/stack.sh reset`).
 */
import kafkajs from 'kafkajs';
import { TOPICS, topicReplication } from '@livetally/events';

const { Kafka, logLevel } = kafkajs;

interface TopicSpec {
  topic: string;
  numPartitions: number;
}

const WANTED_TOPICS: readonly TopicSpec[] = [
  { topic: TOPICS.events, numPartitions: 12 },
  { topic: TOPICS.deadLetters, numPartitions: 3 },
];

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((b) => b.trim())
  .filter((b) => b.length > 0);
const timeoutMs = Number(process.env.CREATE_TOPICS_TIMEOUT_MS ?? 60_000);
// undefined: the broker's defaults
const replication = process.env.KAFKA_REPLICATION_FACTOR
  ? topicReplication(Number(process.env.KAFKA_REPLICATION_FACTOR))
  : undefined;

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const log = (msg: string): void => {
  process.stdout.write(`[create-topics +${elapsed()}] ${msg}\n`);
};
const fail = (msg: string): never => {
  process.stderr.write(`[create-topics +${elapsed()}] ERROR: ${msg}\n`);
  process.exit(1);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errText = (e: unknown): string => {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== e.message ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
};

if (brokers.length === 0) fail('KAFKA_BROKERS is empty');
if (replication && replication.replicationFactor !== Number(process.env.KAFKA_REPLICATION_FACTOR))
  fail(`bad KAFKA_REPLICATION_FACTOR: ${process.env.KAFKA_REPLICATION_FACTOR} (1 to 3)`);
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
  fail(`bad CREATE_TOPICS_TIMEOUT_MS: ${process.env.CREATE_TOPICS_TIMEOUT_MS}`);

const kafka = new Kafka({
  clientId: 'livetally-create-topics',
  brokers,
  logLevel: logLevel.NOTHING, // we print our own progress
  connectionTimeout: 3_000,
  requestTimeout: 15_000,
  retry: { retries: 0 },
});

type Admin = ReturnType<InstanceType<typeof Kafka>['admin']>;

/**
 * Connects and lists topics; retries until the broker answers (and, with a replication
 * factor asked for, that many brokers are up) or the deadline passes.
 */
async function waitForBroker(): Promise<{ admin: Admin; existing: Set<string> }> {
  const deadline = started + timeoutMs;
  let attempt = 0;
  let lastErr = '';
  for (;;) {
    attempt += 1;
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const up = (await admin.describeCluster()).brokers.length;
      if (up >= (replication?.replicationFactor ?? 1)) {
        log(`broker ${brokers.join(',')} answered (attempt ${attempt}, ${up} broker(s) up)`);
        return { admin, existing };
      }
      lastErr = `${up} of the ${replication?.replicationFactor} brokers a replicated topic needs are up`;
      await admin.disconnect().catch(() => undefined);
    } catch (e) {
      lastErr = errText(e);
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() >= deadline) {
      fail(
        `Kafka at ${brokers.join(',')} did not answer within ${timeoutMs / 1000}s (${attempt} attempts); last error: ${lastErr}`,
      );
    }
    if (attempt === 1 || attempt % 5 === 0) {
      log(`waiting for Kafka at ${brokers.join(',')} (attempt ${attempt}): ${lastErr}`);
    }
    await sleep(1_000);
  }
}

async function partitionCounts(
  admin: Admin,
  topics: string[],
): Promise<Map<string, { count: number; leaderless: number; replicas: number }>> {
  const out = new Map<string, { count: number; leaderless: number; replicas: number }>();
  if (topics.length === 0) return out;
  const md = await admin.fetchTopicMetadata({ topics });
  for (const t of md.topics) {
    out.set(t.name, {
      count: t.partitions.length,
      leaderless: t.partitions.filter((p) => p.leader < 0).length,
      replicas: Math.min(...t.partitions.map((p) => p.replicas.length)),
    });
  }
  return out;
}

async function main(): Promise<void> {
  const { admin, existing } = await waitForBroker();
  try {
    const present = WANTED_TOPICS.filter((t) => existing.has(t.topic));
    const missing = WANTED_TOPICS.filter((t) => !existing.has(t.topic));

    // existing topics: check / grow partition counts
    const counts = await partitionCounts(
      admin,
      present.map((t) => t.topic),
    );
    for (const spec of present) {
      const have = counts.get(spec.topic)?.count ?? 0;
      const replicas = counts.get(spec.topic)?.replicas ?? 0;
      if (replication && replicas !== replication.replicationFactor) {
        fail(
          `topic ${spec.topic} has ${replicas} replica(s) per partition but ${replication.replicationFactor} are wanted; ` +
            'this script does not move replicas (local stack: `bash infra/stack.sh reset`)',
        );
      }
      if (have === spec.numPartitions) {
        log(`topic ${spec.topic} exists (${have} partitions)`);
      } else if (have < spec.numPartitions) {
        log(`topic ${spec.topic} has ${have} partitions, growing to ${spec.numPartitions}`);
        await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.numPartitions }] });
      } else {
        fail(
          `topic ${spec.topic} has ${have} partitions but ${spec.numPartitions} are wanted; ` +
            'Kafka cannot remove partitions (local stack: `bash infra/stack.sh reset`)',
        );
      }
    }

    if (missing.length > 0) {
      const replicated = replication
        ? `, replication factor ${replication.replicationFactor}, min.insync.replicas=${replication.minInsyncReplicas}`
        : '';
      log(`creating ${missing.map((t) => `${t.topic} (${t.numPartitions} partitions)`).join(', ')}${replicated}`);
      // The verify loop below waits for the leaders: with several brokers, one may not know
      // the new topic for a moment, which kafkajs' own wait reports as an error.
      await admin.createTopics({
        waitForLeaders: false,
        timeout: 30_000,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor: replication?.replicationFactor ?? -1, // -1: the broker's default
          configEntries: replication
            ? [{ name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) }]
            : [],
        })),
      });
    }

    // verify: right partition counts and every partition has a leader
    const names = WANTED_TOPICS.map((t) => t.topic);
    const verifyDeadline = Date.now() + 30_000;
    for (;;) {
      let problem = '';
      try {
        const after = await partitionCounts(admin, names);
        for (const spec of WANTED_TOPICS) {
          const got = after.get(spec.topic);
          if (!got) problem = `${spec.topic} not in metadata yet`;
          else if (got.count !== spec.numPartitions)
            problem = `${spec.topic} has ${got.count}/${spec.numPartitions} partitions`;
          else if (got.leaderless > 0) problem = `${spec.topic} has ${got.leaderless} partitions without a leader`;
          if (problem) break;
        }
      } catch (e) {
        problem = errText(e);
      }
      if (!problem) break;
      if (Date.now() >= verifyDeadline) fail(`topics not ready: ${problem}`);
      await sleep(500);
    }
    log(`ready: ${WANTED_TOPICS.map((t) => `${t.topic}=${t.numPartitions}`).join(' ')}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

main().catch((e: unknown) => fail(errText(e)));
