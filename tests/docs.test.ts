import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { Kafka } from 'kafkajs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '@livetally/gateway';
import { letterRecord } from '../services/ingest/src/dead-letter-records';
import { buildDataset } from '../services/simulator/src/dataset';
import { newApiKey, startCollectorProcess, type CollectorProcess } from './support/collector';
import { AUTH_ENV, token } from './support/gateway-auth';
import { createHistoryDatabase, startGatewayOn } from './support/gateway-history';
import { createTopics, deleteTopics, testKafka } from './support/kafka';
import {
  ROOT,
  RUNNABLE_INFO,
  documentationPages,
  fencedBlocks,
  headingAnchors,
  readPage,
  relativeLinks,
} from './support/markdown';
import { STACK, deletePrefix, uniqueName } from './support/stack';

/**
 * The documentation is tested like code. Every relative link of README.md and docs/
 * reaches an existing file, and its #anchor an existing heading. Every shell block
 * marked ```bash runnable runs (bash -euo pipefail, from the repository root) and exits
 * 0 within its time bound, with the variables a reader would have set (docs/testing.md
 * lists them) pointed at state this test owns: a fresh ClickHouse database holding a
 * seeded data set, a fresh Redis key prefix, fresh topics with one dead letter, a
 * gateway with access control on and a collector with an API key of its own. So an
 * example that stopped working fails here.
 */
const BLOCK_TIMEOUT_MS = 90_000;
const PAGES = documentationPages();
/** A fence says its language in one word, or is the runnable marker: a misspelt marker has two words. */
const plainOrRunnable = (info: string) => info === RUNNABLE_INFO || /^[\w+-]*$/.test(info);
/** Pages whose examples readers run against a live system; each must keep runnable ones. */
const PAGES_WITH_RUNNABLE_EXAMPLES = [
  'docs/clickhouse.md',
  'docs/operations.md',
  'docs/platform-onboarding.md',
  'docs/security.md',
];

/** Where services and operator commands declare the environment they read (one schema each). */
const CONFIG_SOURCES = [
  ...readdirSync(join(ROOT, 'services'))
    .map((service) => `services/${service}/src/config.ts`)
    .filter((file) => existsSync(join(ROOT, file))),
  'services/ingest/src/cli/config.ts',
  'packages/chdb-server/src/config.ts',
];
/** Scripts and tests whose own variables the reference lists too. */
const SCRIPT_SOURCES = [
  ...['infra', 'bench'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => /\.(sh|ts)$/.test(f))
      .map((f) => `${dir}/${f}`),
  ),
  ...readdirSync(join(ROOT, 'tests'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `tests/${f}`),
];

/** Schema keys (`NAME: int(…)`) and direct reads (`env.NAME`, `value('NAME')`) of a config source. */
function configVariables(source: string): string[] {
  const names = [
    ...source.matchAll(/^\s+([A-Z][A-Z0-9]*_[A-Z0-9_]+):\s/gm),
    ...source.matchAll(/\benv\.([A-Z][A-Z0-9]*_[A-Z0-9_]+)/g),
    ...source.matchAll(/\b(?:value|secret)\('([A-Z][A-Z0-9]*_[A-Z0-9_]+)'\)/g),
  ].map((m) => m[1]!);
  return [...new Set(names)];
}

const runnable = PAGES.flatMap((page) =>
  fencedBlocks(readPage(page))
    .filter((b) => b.info === RUNNABLE_INFO)
    .map((b) => ({ name: `${page}:${b.line}`, page, body: b.body })),
);

describe('documentation links', () => {
  it.each(PAGES)('every relative link of %s reaches a file and heading', (page) => {
    const broken: string[] = [];
    for (const { target, line } of relativeLinks(readPage(page))) {
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const file = path === '' ? page : normalize(join(dirname(page), decodeURIComponent(path)));
      if (file.startsWith('..') || !existsSync(join(ROOT, file))) {
        broken.push(`${page}:${line} ${target}: no file ${file}`);
      } else if (anchor !== undefined && file.endsWith('.md') && !headingAnchors(readPage(file)).has(anchor)) {
        broken.push(`${page}:${line} ${target}: no heading #${anchor} in ${file}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('has no fence info string besides a language and the runnable marker, so a misspelt marker cannot hide a block', () => {
    const unknown = PAGES.flatMap((page) =>
      fencedBlocks(readPage(page))
        .filter((b) => !plainOrRunnable(b.info))
        .map((b) => `${page}:${b.line} \`\`\`${b.info}`),
    );
    expect(unknown).toEqual([]);
  });

  it('keeps runnable examples on the pages readers run them from', () => {
    const missing = PAGES_WITH_RUNNABLE_EXAMPLES.filter((page) => !runnable.some((b) => b.page === page));
    expect(missing).toEqual([]);
  });
});

describe('package table', () => {
  it('lists every package and service of the workspace, and nothing that is not one', () => {
    const listed = readPage('docs/architecture.md')
      .split('\n')
      .flatMap((line) => /^\| `((?:packages|services)\/[\w-]+)` \|/.exec(line)?.[1] ?? []);
    const workspace = ['packages', 'services'].flatMap((dir) =>
      readdirSync(join(ROOT, dir)).flatMap((name) =>
        existsSync(join(ROOT, dir, name, 'package.json')) ? [`${dir}/${name}`] : [],
      ),
    );
    expect([...listed].sort()).toEqual(workspace.sort());
  });
});

describe('configuration reference', () => {
  const reference = readPage('docs/configuration.md');
  const documented = new Set([...reference.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`/g)].map((m) => m[1]!));

  it('lists every variable a service or operator command reads', () => {
    const missing = CONFIG_SOURCES.flatMap((file) =>
      configVariables(readFileSync(join(ROOT, file), 'utf8'))
        .filter((name) => !documented.has(name))
        .map((name) => `${name} (${file})`),
    );
    expect(missing).toEqual([]);
  });

  it('names no variable that nothing reads any more', () => {
    const code = [...CONFIG_SOURCES, ...SCRIPT_SOURCES].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
    const tableVariables = reference
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) => [...line.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
    expect(tableVariables.filter((name) => !new RegExp(`\\b${name}\\b`).test(code))).toEqual([]);
  });
});

describe('runnable documentation blocks', () => {
  const run = uniqueName('docs');
  const topic = `lt.${run}`;
  let kafka: Kafka;
  let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
  let gateway: RunningGateway;
  let collector: CollectorProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 1 },
      { topic: `${topic}.dlq`, numPartitions: 1 },
    ]);
    await sendDeadLetter(kafka, `${topic}.dlq`, topic);
    const events = buildDataset({
      seed: 15,
      count: 2_000,
      startTs: Date.parse('2024-08-23T00:00:00+08:00'),
      spanMs: 86_400_000,
      hosts: 40,
    }).flatMap((m) => (m.event ? [m.event] : []));
    db = await createHistoryDatabase('docs', events, topic);
    gateway = await startGatewayOn(db.database, run, AUTH_ENV);
    const apiKey = newApiKey('douyin');
    collector = await startCollectorProcess({
      KAFKA_TOPIC: topic,
      REDIS_KEY_PREFIX: run,
      COLLECTOR_API_KEYS: `douyin:${apiKey}`,
    });
    env = {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      KAFKA_GROUP_ID: run,
      REDIS_URL: STACK.redisUrl,
      REDIS_KEY_PREFIX: run,
      CLICKHOUSE_DATABASE: db.database,
      // Nothing inserts into this database while a block rebuilds from it.
      REBUILD_GRACE_MS: '0',
      GATEWAY: gateway.url,
      ENGINEER_TOKEN: token('engineer', ['*']),
      READER_TOKEN: token('reader', ['*']),
      COLLECTOR: collector.url,
      LIVETALLY_API_KEY: apiKey,
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    await collector?.stop();
    await gateway?.stop();
    await db?.drop();
    const redis = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
    await deletePrefix(redis, run).finally(() => redis.disconnect());
    if (kafka) await deleteTopics(kafka, [topic, `${topic}.dlq`]);
  });

  it.each(runnable)(
    '$name exits 0',
    async ({ body }) => {
      const result = await runBlock(body, env, BLOCK_TIMEOUT_MS);
      expect(result.code, `exit ${result.code}\n${body}\n--- output ---\n${result.output}`).toBe(0);
    },
    BLOCK_TIMEOUT_MS + 10_000,
  );
});

/** One letter exactly as ingest writes them, so the DLQ example of docs/operations.md has one to show. */
async function sendDeadLetter(kafka: Kafka, dlqTopic: string, sourceTopic: string): Promise<void> {
  const record = letterRecord(
    {
      topic: sourceTopic,
      partition: 0,
      offset: '41',
      key: Buffer.from('s-docs'),
      value: Buffer.from('{"v":1,"type":"view"'),
      step: 'decode',
      errors: [{ field: '', reason: 'not_json', message: 'not valid JSON' }],
    },
    0,
    new Date().toISOString(),
  );
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: dlqTopic,
      messages: [{ partition: record.partition, key: record.key, value: record.value, headers: record.headers }],
    });
  } finally {
    await producer.disconnect();
  }
}

/** Runs a block in its own process group, killed whole when it outlives the bound. */
function runBlock(
  body: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | string; output: string }> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', body], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = setTimeout(() => {
    output += `\n[doc-test] killed after ${timeoutMs} ms`;
    process.kill(-child.pid!, 'SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, output });
    }),
  );
}
