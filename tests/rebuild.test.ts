import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LiveStateNotReadyError,
  LiveStateStore,
  RedisCounterStore,
  globEscape,
  partitionTag,
  type Totals,
} from '@livetally/live-state';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { runCli } from './support/cli';
import { createTopics, deleteTopics, testKafka, waitUntilApplied, waitUntilStored } from './support/kafka';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, ingestEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * `npm run rebuild` on the real stack: Redis loses every key of the deployment while
 * two real ingest workers keep running and events keep arriving; the workers stop
 * counting and say a rebuild is needed; the rebuild (the CLI process) restores the
 * live state from ClickHouse; the workers continue from the restored offsets and
 * every scope ends exactly at the expected totals, with platform resends of events
 * stored before the loss still counted once.
 */
const run = uniqueName('rb');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const COUNT = 15_000;
const FIRST = 5_000;

const env = ingestEnv({ topic, group: run, prefix: run, database: run }, { INGEST_RETRY_MAX_MS: '1000' });

// Every key of one prefix, deleted in one atomic step: what a Redis that lost its data looks like.
const WIPE = `
local keys = redis.call('KEYS', ARGV[1])
for i = 1, #keys, 1000 do redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys))) end
return #keys
`;

const expectedOf = (messages: DatasetMessage[]) => expectedTotals(messages.flatMap((m) => (m.event ? [m.event] : [])));

describe('rebuild', () => {
  let kafka: Kafka;
  let redis: Redis;
  let ch: ClickHouseClient;
  let store: RedisCounterStore;
  let live: LiveStateStore;
  let data: DatasetMessage[];
  const workers: ServiceProcess[] = [];
  const gateRun = uniqueName('rbgate');

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 6 },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix: run });
    live = new LiveStateStore(redis, { prefix: run });
    const admin = stackClickHouse();
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
    await admin.close();
    ch = stackClickHouse({ database: run, clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    const now = Date.now();
    data = buildDataset({
      seed: 99,
      count: COUNT,
      malformedEvery: 97,
      duplicateEvery: 41,
      startTs: now - 3 * 3_600_000,
      spanMs: 3 * 3_600_000,
      hosts: 150,
    });
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    for (const prefix of [run, gateRun]) {
      const keys = await redis.keys(`${globEscape(prefix)}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    await redis?.quit();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${run}` }).catch(() => undefined);
    await ch?.close();
    await deleteTopics(kafka, [topic, dlqTopic]);
  });

  const output = () => workers.map((w) => w.output().slice(-3000)).join('\n---\n');

  /** Waits until every partition is applied up to its last message. */
  const caughtUp = () => waitUntilApplied(kafka, topic, () => store.appliedOffsets(topic), output);

  /** Every scope of the data set exactly, and no other scope. */
  async function expectExact(messages: DatasetMessage[]): Promise<void> {
    const expected = expectedOf(messages);
    const scopes = [...expected.keys()];
    const got = await store.readTotals(scopes);
    const wrong = scopes.filter((s) => JSON.stringify(got.get(s)) !== JSON.stringify(expected.get(s) as Totals));
    expect(wrong.slice(0, 5).map((s) => ({ scope: s, redis: got.get(s), expected: expected.get(s) }))).toEqual([]);
    expect((await live.scanScopes()).sort()).toEqual(scopes.sort());
  }

  it('refuses ownership and counter writes without the marker or during a rebuild', async () => {
    const s = new RedisCounterStore(redis, { prefix: gateRun });
    let ownerGen = 0;
    const apply = (expectedOffset: string, newOffset: string) =>
      s.applyBatch({
        topic: 't',
        partition: 0,
        ownerGen,
        expectedOffset,
        newOffset,
        deltas: new Map([['all', { views: 1 }]]),
      });
    await expect(s.takePartition('t', 0, 0)).rejects.toMatchObject({ reason: 'missing' });
    await expect(apply('-1', '9')).rejects.toBeInstanceOf(LiveStateNotReadyError);
    await redis.set(s.keys.liveState(partitionTag('t', 0)), 'ready');
    ownerGen = (await s.takePartition('t', 0, 0)).gen;
    await redis.set(s.keys.rebuildLock(partitionTag('t', 0)), 'someone', 'PX', 10_000);
    await expect(s.takePartition('t', 0, 0)).rejects.toMatchObject({ reason: 'rebuilding' });
    await expect(apply('-1', '9')).rejects.toMatchObject({ reason: 'rebuilding' });
    expect(await redis.exists(s.keys.totals(partitionTag('t', 0), 'all'))).toBe(0);
    await redis.del(s.keys.rebuildLock(partitionTag('t', 0)));
    expect(await apply('-1', '9')).toEqual({ applied: true });
    expect((await s.readTotals(['all'])).get('all')!.views).toBe(1);
  });

  it('restores exact live state after Redis lost its data while ingest kept running', async () => {
    workers.push(startService('ingest', env), startService('ingest', env));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const send = (messages: DatasetMessage[]) =>
      producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value })) });

    // 1. A first part, fully counted.
    for (let i = 0; i < FIRST; i += 1_000) await send(data.slice(i, i + 1_000));
    const want1 = expectedOf(data.slice(0, FIRST)).get('all')!;
    await waitFor(
      'first part counted',
      async () => JSON.stringify((await store.readTotals(['all'])).get('all')) === JSON.stringify(want1),
      90_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${output()}`);
    });

    // 2. The rest arrives steadily; Redis loses everything of the deployment on the way.
    let sent = FIRST;
    const producing = (async () => {
      for (; sent < COUNT; sent += 250) {
        await send(data.slice(sent, sent + 250));
        await new Promise((r) => setTimeout(r, 120));
      }
    })();
    await waitFor('some of the rest sent', async () => sent >= FIRST + 1_500, 30_000, 50);
    const t0 = performance.now();
    const wiped = (await redis.eval(WIPE, 0, `${globEscape(run)}:*`)) as number;
    expect(wiped).toBeGreaterThan(100);

    // 3. Workers stop counting and say what to do.
    await waitFor(
      'workers asking for a rebuild',
      async () => workers.some((w) => w.output().includes('npm run rebuild')),
      30_000,
      100,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${output()}`);
    });
    const notReadyMs = Math.round(performance.now() - t0);
    expect(await live.status()).toBe('missing');
    expect(await redis.keys(`${globEscape(run)}:t:*`)).toEqual([]);

    // 4. Rebuild as the operator would, while events still arrive.
    const sentAtRebuild = sent;
    const rebuild = await runCli('rebuild', [], { ...env, REBUILD_GRACE_MS: '2000' });
    expect(rebuild.code, rebuild.stdout + rebuild.stderr).toBe(0);
    expect(rebuild.stderr).toContain('rebuild lock taken');
    expect(rebuild.stderr).toContain('waiting 2.0 s for ClickHouse inserts already in flight');
    expect(rebuild.stderr).toMatch(/ClickHouse: 6 partition\(s\) of .* hold rows/);
    expect(rebuild.stderr).toMatch(/Redis: [1-9]\d* resend fingerprint\(s\)/);
    expect(rebuild.stdout).toMatch(
      /^REBUILT: \d+ scope\(s\), 6 partition offset\(s\), \d+ resend fingerprint\(s\), 0 stale scope\(s\) deleted in [\d.]+ s; reconcile agrees/,
    );
    await producing;
    await producer.disconnect();

    // 5. Once every partition is applied to its end, every scope is exactly as expected:
    //    nothing lost, nothing twice, resends of events stored before the loss still once.
    await caughtUp();
    await expectExact(data);

    await waitUntilStored(redis, run, topic);
    const [rows] = await (
      await ch.query({
        query: 'SELECT count() AS n, uniqExact(kafka_partition, kafka_offset) AS distinct_offsets FROM lt_events',
        format: 'JSONEachRow',
      })
    ).json<{ n: string; distinct_offsets: string }>();
    const valid = data.filter((m) => m.kind === 'valid').length;
    expect(rows).toEqual({ n: String(valid), distinct_offsets: String(valid) });

    const reconcile = await runCli('reconcile', [], env);
    expect(reconcile.code, reconcile.stdout).toBe(0);
    process.stdout.write(`${rebuild.stderr}`);
    process.stdout.write(
      `[rebuild] ${wiped} keys wiped after ${sentAtRebuild - FIRST} of ${COUNT - FIRST} later messages were sent; workers asked for a rebuild ${notReadyMs} ms later; ` +
        `rebuild CLI ${rebuild.ms} ms (grace 2000 ms); ${data.filter((m) => m.kind === 'duplicate').length} resends in the data set\n`,
    );
  });

  it('lets a worker rebuild by itself with INGEST_AUTO_REBUILD', async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    workers.push(startService('ingest', { ...env, INGEST_AUTO_REBUILD: 'true', INGEST_REBUILD_GRACE_MS: '1000' }));
    const wiped = (await redis.eval(WIPE, 0, `${globEscape(run)}:*`)) as number;
    expect(wiped).toBeGreaterThan(100);
    const t0 = performance.now();
    const extra = buildDataset({
      seed: 100,
      count: 1_500,
      malformedEvery: 89,
      duplicateEvery: 37,
      startTs: Date.now() - 3_600_000,
      spanMs: 3_600_000,
      hosts: 150,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: extra.map((m) => ({ key: m.key, value: m.value })) });
    await producer.disconnect();
    await caughtUp();
    await expectExact([...data, ...extra]);
    expect(workers[0]!.output()).toContain('starting a rebuild from ClickHouse (INGEST_AUTO_REBUILD)');
    process.stdout.write(
      `[rebuild] automatic rebuild: exact again ${Math.round(performance.now() - t0)} ms after the wipe\n`,
    );
  });
});
