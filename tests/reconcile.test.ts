import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHistory } from '@livetally/history';
import { LiveStateStore, RedisCounterStore, type Totals } from '@livetally/live-state';
import { parsePartitionTag } from '../packages/live-state/src/keys';
import { agrees, reconcile } from '../services/ingest/src/recovery/reconcile';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { runCli } from './support/cli';
import { createTopics, deleteTopics, testKafka } from './support/kafka';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, ingestEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * `npm run reconcile` on the real stack: two real ingest workers fill Redis and
 * ClickHouse from a seeded data set (malformed events and platform resends included);
 * reconcile agrees, names a scope whose Redis counter was tampered with, and stays
 * exact (agrees every time) while ingest keeps running.
 */
const run = uniqueName('rec');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const COUNT = 12_000;
const FIRST = 7_000;

const env = ingestEnv({ topic, group: run, prefix: run, database: run }, { INGEST_RETRY_MAX_MS: '1000' });

const expectedOf = (messages: DatasetMessage[]) => expectedTotals(messages.flatMap((m) => (m.event ? [m.event] : [])));

describe('reconcile', () => {
  let kafka: Kafka;
  let redis: Redis;
  let ch: ClickHouseClient;
  let store: RedisCounterStore;
  let data: DatasetMessage[];
  const workers: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 6 },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix: run });
    ch = stackClickHouse({ database: run, clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    const admin = stackClickHouse();
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
    await admin.close();
    const now = Date.now();
    data = buildDataset({
      seed: 77,
      count: COUNT,
      malformedEvery: 101,
      duplicateEvery: 61,
      startTs: now - 4 * 3_600_000,
      spanMs: 4 * 3_600_000,
      hosts: 150,
    });
    workers.push(startService('ingest', env), startService('ingest', env));
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    const keys = await redis.keys(`${run}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis?.quit();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${run}` }).catch(() => undefined);
    await ch?.close();
    await deleteTopics(kafka, [topic, dlqTopic]);
  });

  async function produce(messages: DatasetMessage[], chunk = 1_000, pauseMs = 0): Promise<void> {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += chunk) {
        await producer.send({
          topic,
          acks: -1,
          messages: messages.slice(i, i + chunk).map((m) => ({ key: m.key, value: m.value })),
        });
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    } finally {
      await producer.disconnect();
    }
  }

  async function converged(want: Totals, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      'Redis totals of scope all',
      async () => JSON.stringify((await store.readTotals(['all'])).get('all')) === JSON.stringify(want),
      timeoutMs,
      250,
    ).catch((err) => {
      throw new Error(
        `${(err as Error).message}\n--- worker output ---\n${workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`,
      );
    });
  }

  it('agrees after ingest, and names the scope whose Redis counter was tampered with', async () => {
    const first = data.slice(0, FIRST);
    const expected = expectedOf(first);
    await produce(first);
    await converged(expected.get('all')!);

    const ok = await runCli('reconcile', [], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`OK: ${expected.size} scopes compared, all agree`);
    expect(ok.stderr).toMatch(/atomic snapshot of \d+ scope\(s\) and 6 applied offset\(s\)/);
    process.stdout.write(`[reconcile] agree run: ${ok.ms} ms for ${expected.size} scopes\n`);

    const json = await runCli('reconcile', ['--json'], env);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      agree: boolean;
      comparison: { compared: number; differences: unknown[] };
      offsets: Record<string, string>;
    };
    expect(parsed.agree).toBe(true);
    expect(parsed.comparison).toMatchObject({ compared: expected.size, differences: [] });
    expect(Object.keys(parsed.offsets)).toHaveLength(6);

    // Tamper: one counter one higher, and one scope's key gone.
    const district = [...expected.keys()].find((s) => s.startsWith('district:'))!;
    const host = [...expected.keys()].find((s) => s.startsWith('host:'))!;
    const views = expected.get(district)!.views;
    // Per partition (ADR 0003): a scope's totals are its shares; tamper with one share, and drop every share of one scope.
    const tags = await store.partitionTags();
    const hostKeys = tags.map((tag) => store.keys.totals(tag, host));
    const hostHashes = await Promise.all(hostKeys.map((k) => redis.hgetall(k)));
    await redis.hincrby(store.keys.totals(tags[0]!, district), 'views', 1);
    await redis.del(...hostKeys);
    // And one view of `all` moved from one partition's share to another's: the sum agrees, the shares do not.
    await redis.hincrby(store.keys.totals(tags[0]!, 'all'), 'views', 1);
    await redis.hincrby(store.keys.totals(tags[1]!, 'all'), 'views', -1);
    const [p0, p1] = [tags[0]!, tags[1]!].map((tag) => parsePartitionTag(tag)!.partition) as [number, number];

    const bad = await runCli('reconcile', [], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`${district}\\s+views\\s+${views + 1}\\s+${views}\\s+\\+1`));
    // Reconcile per partition (ADR 0003): the difference names the partition (and so the master) it comes from.
    expect(bad.stdout).toMatch(new RegExp(`^  partition ${p0}\\s+views\\s+\\d+\\s+\\d+\\s+\\+1$`, 'm'));
    expect(bad.stdout).toContain('all (shares only)');
    expect(bad.stdout).toContain(`${host} (history-only)`);
    expect(bad.stdout.split('\n').at(-2)).toMatch(
      new RegExp(`^DIFFER: 3 of ${expected.size} scopes differ: .*${district}`),
    );
    const badJson = JSON.parse((await runCli('reconcile', ['--json'], env)).stdout) as {
      agree: boolean;
      comparison: {
        differences: {
          scope: string;
          fields: { field: string; live: string; history: string }[];
          partitions: { partition: number; fields: { field: string; delta: string }[] }[];
        }[];
      };
    };
    expect(badJson.agree).toBe(false);
    const districtDiff = badJson.comparison.differences.find((d) => d.scope === district)!;
    expect(districtDiff.fields).toEqual([
      { field: 'views', live: String(views + 1), history: String(views), delta: '+1' },
    ]);
    expect(districtDiff.partitions).toMatchObject([{ partition: p0, fields: [{ field: 'views', delta: '+1' }] }]);
    const allDiff = badJson.comparison.differences.find((d) => d.scope === 'all')!;
    expect(allDiff.fields).toEqual([]);
    expect(allDiff.partitions.map((d) => [d.partition, d.fields.map((f) => f.delta)])).toEqual(
      [
        [p0, ['+1']],
        [p1, ['-1']],
      ].sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
    expect(badJson.comparison.differences.map((d) => d.scope).sort()).toEqual(['all', district, host].sort());

    await redis.hincrby(store.keys.totals(tags[0]!, 'all'), 'views', -1);
    await redis.hincrby(store.keys.totals(tags[1]!, 'all'), 'views', 1);
    await redis.hincrby(store.keys.totals(tags[0]!, district), 'views', -1);
    for (const [i, hash] of hostHashes.entries())
      if (Object.keys(hash).length > 0) await redis.hset(hostKeys[i]!, hash);
    expect((await runCli('reconcile', [], env)).code).toBe(0);
  });

  it('stays exact while ingest keeps running', async () => {
    const live = new LiveStateStore(redis, { prefix: run });
    const history = new EventHistory(ch);
    let producing = true;
    const rest = data.slice(FIRST);
    const producer = produce(rest, 100, 200).finally(() => (producing = false));

    const seen: string[] = [];
    let runs = 0;
    let moving = 0;
    let late = 0;
    let timings = {};
    const deadline = Date.now() + 90_000;
    // Bounded: at most 60 comparisons or 90 s; at least one more after production ended.
    while (runs < 60 && Date.now() < deadline) {
      const wasProducing = producing;
      const r = await reconcile({ live, history, topic });
      runs++;
      late += r.lateScopes;
      timings = r.timingsMs;
      expect(
        agrees(r),
        JSON.stringify({ ...r, comparison: { ...r.comparison, differences: r.comparison?.differences.slice(0, 3) } }),
      ).toBe(true);
      const at = JSON.stringify(r.offsets);
      if (seen.length > 0 && seen.at(-1) !== at) moving++;
      seen.push(at);
      if (!wasProducing) break;
    }
    await producer;
    process.stdout.write(
      `[reconcile] ${runs} in-process comparisons while ingesting, ${moving} of them at new offsets, ${late} scopes compared at a second cut; last run ${JSON.stringify(timings)} ms\n`,
    );
    expect(moving).toBeGreaterThanOrEqual(3);

    await converged(expectedOf(data).get('all')!);
    const final = await runCli('reconcile', [], env);
    expect(final.code, final.stdout + final.stderr).toBe(0);
    const all = expectedOf(data);
    expect(final.stdout).toContain(`OK: ${all.size} scopes compared, all agree`);
  });
});
