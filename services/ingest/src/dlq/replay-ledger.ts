import type { Kafka, Producer } from 'kafkajs';
import { readRanges } from './topic-reader';

/** Header on every replayed record: the original's position (positionId), as the ledger keys it. */
export const REPLAY_HEADERS = {
  of: 'lt-replay-of',
  /** The letter the copy was made from, for whoever reads the events topic. */
  letter: 'lt-replay-letter',
} as const;

/**
 * What the ledger knows of one original. `pending`: a replay was about to send it (a crash
 * may have left it sent or not; the copy, if any, lies on `target` at or after `from`);
 * `replayed`: its copy is on the events topic at `offset`.
 */
export interface LedgerEntry {
  state: 'pending' | 'replayed';
  /** The letter the copy was made from. */
  letter: string;
  target: { topic: string; partition: number };
  from: string;
  offset?: string;
  at: string;
}

export function encodeEntry(entry: LedgerEntry): Buffer {
  return Buffer.from(JSON.stringify(entry));
}

export function decodeEntry(value: Buffer | null): LedgerEntry | null {
  if (!value || value.length === 0) return null;
  try {
    const e = JSON.parse(value.toString('utf8')) as Partial<LedgerEntry>;
    const valid =
      (e.state === 'pending' || e.state === 'replayed') &&
      typeof e.letter === 'string' &&
      typeof e.target?.topic === 'string' &&
      Number.isInteger(e.target.partition) &&
      typeof e.from === 'string' &&
      typeof e.at === 'string';
    return valid ? (e as LedgerEntry) : null;
  } catch {
    return null;
  }
}

/** The ledger's topic when none is configured: beside the dead-letter topic. */
export function defaultLedgerTopic(dlqTopic: string): string {
  return `${dlqTopic}.replayed`;
}

/**
 * Which originals were replayed, durable beyond any dedup window: a compacted topic keyed
 * by the original's position, so it keeps the last entry of every original for as long
 * as the topic exists, and reading it costs one entry per original ever replayed.
 */
export class ReplayLedger {
  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
  ) {}

  async exists(): Promise<boolean> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).includes(this.topic);
    } finally {
      await admin.disconnect();
    }
  }

  /** Creates the topic (one partition, compacted) unless it exists. */
  async ensure(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if ((await admin.listTopics()).includes(this.topic)) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: this.topic,
            numPartitions: 1,
            replicationFactor: -1, // the broker's default, as for the other topics
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
  }

  /** The last entry of every original; an empty map when the topic does not exist yet. Throws unless read to its end in time. */
  async read(timeoutMs: number): Promise<Map<string, LedgerEntry>> {
    const entries = new Map<string, LedgerEntry>();
    if (!(await this.exists())) return entries;
    const admin = this.kafka.admin();
    await admin.connect();
    const logs = await admin.fetchTopicOffsets(this.topic).finally(() => admin.disconnect());
    const { unfinished } = await readRanges(
      this.kafka,
      this.topic,
      logs.map((l) => ({ partition: l.partition, from: l.low, to: l.high })),
      {
        timeoutMs,
        onRecord: (record) => {
          const key = record.key?.toString('utf8');
          const entry = decodeEntry(record.value);
          if (key !== undefined && entry) entries.set(key, entry);
        },
      },
    );
    if (unfinished.length > 0)
      throw new Error(`could not read the replay ledger ${this.topic} to its end within ${timeoutMs / 1000} s`);
    return entries;
  }

  async write(producer: Pick<Producer, 'send'>, entries: ReadonlyMap<string, LedgerEntry>): Promise<void> {
    if (entries.size === 0) return;
    await producer.send({
      topic: this.topic,
      acks: -1,
      messages: [...entries].map(([key, entry]) => ({ key, value: encodeEntry(entry) })),
    });
  }
}
