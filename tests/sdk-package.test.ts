import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { RedisCounterStore } from '@livetally/live-state';
import { expectedTotals } from '../services/simulator/src/dataset';
import { newApiKey, platformEvents, startCollectorProcess, type CollectorProcess } from './support/collector';
import { createTopics, deleteTopics, testKafka, waitUntilStored } from './support/kafka';
import { fencedBlocks, readPage, ROOT } from './support/markdown';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, ingestEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * The SDK as a platform gets it: `npm pack` (which builds dist/ first), the tarball
 * installed into an empty project outside the workspace, and used there by the README's
 * own send-events.mjs. Events go through a real collector while kafkajs is not installed
 * (the HTTP transport needs nothing else; the Kafka transport fails at once, naming the
 * fix), then, with kafkajs installed, straight to Kafka, the collector's events once more
 * among them; a real ingest worker counts every event exactly once in Redis and
 * ClickHouse. The README's TypeScript example type-checks against the installed package.
 */
const run = uniqueName('sdk_pkg');
const topic = `lt.${run}`;
const KEY = newApiKey('douyin');
const viaCollector = platformEvents(71, 800, 'douyin');
const viaKafka = platformEvents(72, 800, 'douyin');
/** The version the workspace runs, so the test installs what the other tests use. */
const kafkajsVersion = async () =>
  (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
    .dependencies.kafkajs!;

interface Finished {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** A command to completion, bounded by a timeout, with `input` on its stdin. */
function execute(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs: number },
): Promise<Finished> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    }),
  );
}

/** This process's environment without what an npm script run sets (npm_config_local_prefix would aim npm at the workspace). */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

async function succeed(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const result = await execute(command, args, { cwd, env: npmEnv(), timeoutMs });
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The README's first fenced block in `language` under `heading`. */
function readmeExample(heading: string, language: string): string {
  const page = readPage('packages/sdk/README.md');
  const headingLine = page.split('\n').indexOf(heading) + 1;
  const block = fencedBlocks(page).find((b) => b.info === language && b.line > headingLine);
  if (headingLine === 0 || !block) throw new Error(`packages/sdk/README.md has no ${language} block under ${heading}`);
  return block.body;
}

interface Report {
  accepted: number;
  duplicates: number;
  failed: { eventId: string; status: string; error?: string; attempts?: number }[];
}

describe('the packed SDK installed outside the workspace', () => {
  let project: string;
  let packedFiles: string[];
  let kafka: Kafka;
  let collector: CollectorProcess;
  let worker: ServiceProcess | undefined;
  let redis: Redis;
  let ch: ClickHouseClient;

  const sendEvents = async (
    events: LiveEvent[],
    env: Record<string, string>,
  ): Promise<Finished & { report: Report }> => {
    // Only the variables a platform would set: the stack's own (KAFKA_BROKERS…) would pick the transport.
    const result = await execute(process.execPath, ['send-events.mjs'], {
      cwd: project,
      env: { PATH: process.env.PATH, ...env },
      input: events.map((e) => JSON.stringify(e)).join('\n'),
      timeoutMs: 90_000,
    });
    const lastLine = result.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return { ...result, report: JSON.parse(lastLine) as Report };
    } catch {
      throw new Error(`send-events.mjs printed no report (exit ${result.code})\n${result.stdout}\n${result.stderr}`);
    }
  };

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'livetally-sdk-consumer-'));
    const packed = await succeed(
      'npm',
      ['pack', '-w', '@livetally/sdk', '--json', '--pack-destination', project],
      ROOT,
      180_000,
    );
    // prepack's build prints before npm's JSON.
    const [tarball] = JSON.parse(packed.slice(packed.search(/^\[/m))) as {
      filename: string;
      files: { path: string }[];
    }[];
    packedFiles = tarball!.files.map((f) => f.path).sort();
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await writeFile(join(project, 'send-events.mjs'), readmeExample('## A runnable example', 'js'));
    await succeed(
      'npm',
      ['install', '--prefix', project, '--no-audit', '--no-fund', `./${tarball!.filename}`],
      project,
      120_000,
    );

    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 4 },
      { topic: `${topic}.dlq`, numPartitions: 1 },
    ]);
    redis = new Redis(STACK.redisUrl);
    ch = stackClickHouse({ clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
    collector = await startCollectorProcess({ KAFKA_TOPIC: topic, COLLECTOR_API_KEYS: `douyin:${KEY}` });
  }, 300_000);

  afterAll(async () => {
    await worker?.stop();
    await collector?.stop();
    await redis?.quit();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${run}` }).catch(() => undefined);
    await ch?.close();
    if (kafka) await deleteTopics(kafka, [topic, `${topic}.dlq`]);
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('packs the build, README, LICENSE and package.json, and depends on no workspace package', async () => {
    expect(packedFiles).toEqual(['README.md', 'dist/LICENSE', 'dist/index.d.ts', 'dist/index.js', 'package.json']);
    const installed = JSON.parse(
      await readFile(join(project, 'node_modules/@livetally/sdk/package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(installed).toMatchObject({ license: 'Apache-2.0', engines: { node: '>=20' }, main: './dist/index.js' });
    expect(installed.private).toBeUndefined();
    expect(installed.dependencies ?? {}).toEqual({});
    const bundle = await readFile(join(project, 'node_modules/@livetally/sdk/dist/index.js'), 'utf8');
    expect(bundle).not.toMatch(/from\s*["']@livetally\//);
  });

  it('sends through the collector with nothing but the SDK installed', async () => {
    const { code, report, stderr } = await sendEvents(viaCollector, {
      LIVETALLY_URL: collector.url,
      LIVETALLY_API_KEY: KEY,
    });
    expect(report, stderr).toEqual({ accepted: viaCollector.length, duplicates: 0, failed: [] });
    expect(code).toBe(0);
  });

  it('fails the Kafka transport at once without kafkajs, naming the fix', async () => {
    const { code, report } = await sendEvents(viaKafka.slice(0, 3), {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      KAFKA_TOPIC: topic,
    });
    expect(code).toBe(1);
    expect(report.accepted).toBe(0);
    expect(report.failed).toHaveLength(3);
    for (const failed of report.failed)
      expect(failed).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: expect.stringContaining('npm install kafkajs'),
      });
  });

  it('sends straight to Kafka once kafkajs is installed, the collector’s events again among them', async () => {
    await succeed(
      'npm',
      ['install', '--prefix', project, '--no-audit', '--no-fund', `kafkajs@${await kafkajsVersion()}`],
      project,
      120_000,
    );
    const events = [...viaKafka, ...viaCollector]; // the second copies are resends: same eventId, ts and platform
    const { code, report, stderr } = await sendEvents(events, {
      KAFKA_BROKERS: STACK.kafkaBrokers.join(','),
      KAFKA_TOPIC: topic,
    });
    expect(report, stderr).toEqual({ accepted: events.length, duplicates: 0, failed: [] });
    expect(code).toBe(0);
  });

  it('type-checks the README’s example against the installed types (nodenext, skipLibCheck off)', async () => {
    await writeFile(join(project, 'app.ts'), readmeExample('## In an application', 'ts'));
    // Proves the types are real: with an `any` API this line would not be an error, and tsc would flag the directive.
    await writeFile(
      join(project, 'wrong.ts'),
      [
        "import { createLiveTallyClient } from '@livetally/sdk';",
        "const client = createLiveTallyClient({ transport: 'kafka', brokers: ['127.0.0.1:9092'] });",
        '// @ts-expect-error: no such event type',
        "void client.send({ type: 'no_such_type', streamId: 's', hostId: 'h', city: 'c', district: 'd', category: 'x' });",
      ].join('\n'),
    );
    const compilerOptions = {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
    };
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts', 'wrong.ts'] }));
    await succeed(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      project,
      120_000,
    );
  });

  it('counts every event exactly once in Redis and ClickHouse', async () => {
    worker = startService('ingest', ingestEnv({ topic, group: run, prefix: run, database: run }));
    const expected = expectedTotals([...viaCollector, ...viaKafka]);
    const store = new RedisCounterStore(redis, { prefix: run });
    await waitFor(
      'exact totals in Redis',
      async () => JSON.stringify((await store.readTotals(['all'])).get('all')) === JSON.stringify(expected.get('all')),
      90_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- worker ---\n${worker!.output().slice(-3000)}`);
    });
    const scopes = [...expected.keys()];
    const live = await store.readTotals(scopes);
    for (const scope of scopes) expect(live.get(scope), scope).toEqual(expected.get(scope));
    await waitUntilStored(redis, run, topic);
    const rows = await ch.query({
      query: `SELECT count() AS n, uniqExact(event_id) AS ids FROM ${run}.lt_events WHERE topic = {topic:String}`,
      query_params: { topic },
      format: 'JSONEachRow',
    });
    const total = String(viaCollector.length + viaKafka.length);
    expect(await rows.json()).toEqual([{ n: total, ids: total }]);
  });
});
