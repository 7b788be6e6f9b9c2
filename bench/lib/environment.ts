import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { ROOT } from './stack';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  /** 1-minute load average when the run started: other work on a shared machine shows here. */
  loadAverageAtStart: number;
}

export interface Versions {
  node: string;
  kafkajs: string;
  ioredis: string;
  ws: string;
  clickhouseClient: string;
  kafka: string;
  redis: string;
  chdb: string;
  clickhouse: string;
  /** The optional second Kafka client the ceiling scenario compares with kafkajs ('not installed' when absent). */
  confluentKafkaJavascript?: string;
  /** The Kafka client the month's producer plays the platforms with (bench/workers/month-producer.ts). */
  platformaticKafka?: string;
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  }
}

export function machine(): Machine {
  const cpus = os.cpus();
  let distro = `${os.type()} ${os.release()}`;
  try {
    distro = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    /* not Linux */
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: distro,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/** Kafka's version from the jars infra/stack.sh runs (kafka_2.13-<version>.jar). */
function kafkaVersion(): string {
  try {
    const jar = readdirSync(join(ROOT, 'infra', 'kafka', 'libs')).find((f) => /^kafka_[\d.]+-[\d.]+\.jar$/.test(f));
    const m = jar ? /-([\d.]+)\.jar$/.exec(jar) : null;
    if (m) return m[1]!;
  } catch {
    /* external Kafka */
  }
  return process.env.KAFKA_BROKERS ? 'external (unknown)' : 'unknown';
}

export async function versions(redis: Redis, ch: ClickHouseClient): Promise<Versions> {
  let redisVersion = 'unknown';
  try {
    redisVersion = /redis_version:([^\r\n]+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } catch {
    /* reported as unknown */
  }
  let clickhouse = 'unknown';
  try {
    const rs = await ch.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    clickhouse = (await rs.json<{ v: string }>())[0]?.v ?? 'unknown';
  } catch {
    /* reported as unknown */
  }
  return {
    node: process.version,
    kafkajs: packageVersion('kafkajs'),
    ioredis: packageVersion('ioredis'),
    ws: packageVersion('ws'),
    clickhouseClient: packageVersion('@clickhouse/client'),
    kafka: kafkaVersion(),
    redis: redisVersion,
    chdb: packageVersion('chdb'),
    clickhouse,
    confluentKafkaJavascript: packageVersion('@confluentinc/kafka-javascript').replace(/^unknown$/, 'not installed'),
    platformaticKafka: packageVersion('@platformatic/kafka'),
  };
}
