import { existsSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { ROOT } from './stack';

/**
 * What a long bench run keeps on disk and in memory, as it goes: the Kafka log of a topic
 * (files of its partitions in the broker's log dirs), Redis's used_memory, free disk.
 */

/** Where infra/stack.sh keeps the stack's data (LT_DATA_DIR, as the script reads it). */
export const STACK_DATA_DIR = resolve(ROOT, process.env.LT_DATA_DIR ?? '.data');

/** The log dirs of the brokers infra/stack.sh runs (one node: kafka/, three: kafka-3/node-n/), from their server.properties. */
export function localKafkaLogDirs(dataDir = STACK_DATA_DIR): string[] {
  const nodes = [join(dataDir, 'kafka')];
  const cluster = join(dataDir, 'kafka-3');
  if (existsSync(cluster))
    for (const node of readdirSync(cluster).filter((n) => n.startsWith('node-'))) nodes.push(join(cluster, node));
  return nodes.flatMap((node) => {
    const props = join(node, 'server.properties');
    if (!existsSync(props)) return [];
    const line = /^log\.dirs=(.+)$/m.exec(readFileSync(props, 'utf8'))?.[1];
    return (line ?? '')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean);
  });
}

const isPartitionDir = (topic: string) => (name: string) =>
  name.startsWith(`${topic}-`) && /^\d+$/.test(name.slice(topic.length + 1));

/** The log dirs that hold partitions of the topic: empty when the broker is not one of this machine's stack. */
export function topicLogDirs(topic: string, logDirs = localKafkaLogDirs()): string[] {
  return logDirs.filter((dir) => existsSync(dir) && readdirSync(dir).some(isPartitionDir(topic)));
}

/** Bytes of the topic's partition folders (segments, indexes, segments marked for deletion), as du counts them. */
export function topicDiskBytes(topic: string, logDirs: string[]): number {
  let bytes = 0;
  for (const dir of logDirs)
    for (const partition of readdirSync(dir).filter(isPartitionDir(topic))) {
      const path = join(dir, partition);
      // A segment can be deleted between the listing and its stat: it no longer counts.
      for (const file of readdirSync(path)) bytes += statSync(join(path, file), { throwIfNoEntry: false })?.blocks ?? 0;
    }
  return bytes * 512;
}

/** Bytes an unprivileged writer can still use on the file system that holds the path. */
export function freeDiskBytes(path = STACK_DATA_DIR): number {
  const fs = statfsSync(existsSync(path) ? path : ROOT);
  return fs.bavail * fs.bsize;
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);
}

export const GIB = 2 ** 30;
export const fmtGiB = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / GIB).toFixed(2)} GiB`);

/** Samples the topic's Kafka bytes and Redis's used_memory, keeping the peaks. */
export class FootprintMonitor {
  kafkaBytes: number | null = null;
  kafkaPeakBytes: number | null = null;
  redisBytes = 0;
  redisPeakBytes = 0;

  /** logDirs: those of topicLogDirs(topic); empty when the broker's files are not on this machine. */
  constructor(
    private readonly redis: Redis,
    private readonly topic: string,
    private readonly logDirs: string[],
  ) {}

  async sample(): Promise<this> {
    if (this.logDirs.length > 0) {
      this.kafkaBytes = topicDiskBytes(this.topic, this.logDirs);
      this.kafkaPeakBytes = Math.max(this.kafkaPeakBytes ?? 0, this.kafkaBytes);
    }
    this.redisBytes = await redisUsedMemory(this.redis);
    this.redisPeakBytes = Math.max(this.redisPeakBytes, this.redisBytes);
    return this;
  }

  /** For a progress line: "Kafka topic 1.23 GiB, Redis used_memory 0.45 GiB". */
  describe(): string {
    return `Kafka topic ${fmtGiB(this.kafkaBytes)}, Redis used_memory ${fmtGiB(this.redisBytes)}`;
  }
}
