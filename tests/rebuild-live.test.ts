import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignStore, matchesCampaign, type Campaign } from '@livetally/campaigns';
import {
  LiveStateReader,
  LiveStateStore,
  RedisCounterStore,
  campaignKeys,
  emptyTotals,
  globEscape,
  type Totals,
} from '@livetally/live-state';
import type { LiveEvent } from '@livetally/events';
import { migrate } from '@livetally/history';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { runCli } from './support/cli';
import { createTopics, deleteTopics, testKafka, waitUntilApplied } from './support/kafka';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, ingestEnv, stackClickHouse, uniqueName, waitFor } from './support/stack';

/**
 * `npm run rebuild` restores every live measure, not only totals: with a campaign
 * defined before the loss, Redis loses every key of the deployment (the campaign
 * catalogue included) while two real ingest workers keep running and events keep
 * arriving; after the rebuild every scope's totals, the campaign scope's totals, the
 * `all` and campaign leaderboards and the per-minute series equal what the seeded
 * events say (computed here, independently of the pipeline's code), and the unique
 * viewer / active host estimates are within HyperLogLog error. Reconcile then compares
 * the campaign scope too and names a tampered campaign counter.
 */
const MINUTE = 60_000;
const run = uniqueName('rbl');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const COUNT = 15_000;
const FIRST = 5_000;

const env = ingestEnv({ topic, group: run, prefix: run, database: run }, { INGEST_RETRY_MAX_MS: '1000' });

const WIPE = `
local keys = redis.call('KEYS', ARGV[1])
for i = 1, #keys, 1000 do redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys))) end
return #keys
`;

const now = Date.now();
const data: DatasetMessage[] = buildDataset({
  seed: 4242,
  count: COUNT,
  malformedEvery: 97,
  duplicateEvery: 41,
  lateEvery: 53,
  lateByMs: 40 * MINUTE,
  startTs: now - 170 * MINUTE,
  spanMs: 170 * MINUTE,
  hosts: 150,
});
const events: LiveEvent[] = data.flatMap((m) => (m.event ? [m.event] : []));
const districts = [...new Set(events.map((e) => e.district))].sort().slice(0, 3);
const platforms = [...new Set(events.map((e) => e.platform))].sort().slice(0, 2);
const campaign: Campaign = {
  id: 'rebuild-month',
  name: 'Rebuild month',
  startsAt: Math.floor((now - 140 * MINUTE) / MINUTE) * MINUTE,
  endsAt: Math.ceil((now + 60 * MINUTE) / MINUTE) * MINUTE,
  timeZone: 'Asia/Shanghai',
  filters: { districts, platforms },
  targets: {},
  status: 'active',
  createdAt: now,
  updatedAt: now,
  version: 1,
};
const CAMPAIGN = `campaign:${campaign.id}`;
const inCampaign = (e: LiveEvent) => matchesCampaign(campaign, e);

// Independent expectations, straight from the events.
const DIMENSIONS = {
  host: (e: LiveEvent) => e.hostId,
  district: (e: LiveEvent) => e.district,
  category: (e: LiveEvent) => e.category,
  platform: (e: LiveEvent) => e.platform,
  city: (e: LiveEvent) => e.city,
} as const;
type Dimension = keyof typeof DIMENSIONS;
const MEASURES = ['gmv', 'views', 'sessions'] as const;
const measureOf = (e: LiveEvent): [(typeof MEASURES)[number], number] | null =>
  e.type === 'sale'
    ? ['gmv', e.amountFen]
    : e.type === 'view'
      ? ['views', 1]
      : e.type === 'stream_started'
        ? ['sessions', 1]
        : null;

function expectedBoard(
  list: LiveEvent[],
  dimension: Dimension,
  measure: (typeof MEASURES)[number],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of list) {
    const m = measureOf(e);
    if (m && m[0] === measure) out[DIMENSIONS[dimension](e)] = (out[DIMENSIONS[dimension](e)] ?? 0) + m[1];
  }
  for (const [k, v] of Object.entries(out)) if (v === 0) delete out[k];
  return out;
}

const scopeFilter = (scope: string): ((e: LiveEvent) => boolean) => {
  if (scope === 'all') return () => true;
  if (scope === CAMPAIGN) return inCampaign;
  const [kind, value] = [scope.slice(0, scope.indexOf(':')), scope.slice(scope.indexOf(':') + 1)];
  const of: Record<string, (e: LiveEvent) => string> = { ...DIMENSIONS, stream: (e) => e.streamId };
  return (e) => of[kind]!(e) === value;
};

function distinctViewers(filter: (e: LiveEvent) => boolean): number {
  return new Set(events.flatMap((e) => (e.type === 'view' && filter(e) ? [e.viewerId] : []))).size;
}

describe('rebuild restores every live measure', () => {
  let kafka: Kafka;
  let redis: Redis;
  let ch: ClickHouseClient;
  let store: RedisCounterStore;
  let live: LiveStateStore;
  let reader: LiveStateReader;
  const workers: ServiceProcess[] = [];
  let rebuildMs = 0;

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 6 },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix: run });
    live = new LiveStateStore(redis, { prefix: run });
    reader = new LiveStateReader(redis, run);
    const admin = stackClickHouse();
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${run}` });
    await admin.close();
    ch = stackClickHouse({ database: run, clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } });
    // The campaign exists before any event: the workers count it live from the start.
    await migrate(ch);
    await new CampaignStore(redis, ch, run).save(campaign);
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    const keys = await redis.keys(`${globEscape(run)}:*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    await redis?.quit();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${run}` }).catch(() => undefined);
    await ch?.close();
    await deleteTopics(kafka, [topic, dlqTopic]);
  });

  const output = () => workers.map((w) => w.output().slice(-3000)).join('\n---\n');

  /** Waits until every partition is applied up to its last message. */
  const caughtUp = () => waitUntilApplied(kafka, topic, () => store.appliedOffsets(topic), output);

  it('after Redis lost its data and a rebuild while ingest runs, totals, campaign, leaderboards, minute series and HyperLogLogs are right', async () => {
    workers.push(startService('ingest', env), startService('ingest', env));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const send = (messages: DatasetMessage[]) =>
      producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value })) });

    // 1. A first part, fully counted — the campaign scope live too.
    for (let i = 0; i < FIRST; i += 1_000) await send(data.slice(i, i + 1_000));
    const firstEvents = data.slice(0, FIRST).flatMap((m) => (m.event ? [m.event] : []));
    const want1 = expectedTotals(firstEvents).get('all')!;
    await waitFor(
      'first part counted',
      async () => JSON.stringify((await store.readTotals(['all'])).get('all')) === JSON.stringify(want1),
      90_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${output()}`);
    });
    expect(firstEvents.filter(inCampaign).length).toBeGreaterThan(50);
    expect((await store.readTotals([CAMPAIGN])).get(CAMPAIGN)).toEqual(
      expectedTotals(firstEvents.filter(inCampaign)).get('all'),
    );

    // 2. The rest arrives steadily; Redis loses every key of the deployment on the way.
    let sent = FIRST;
    const producing = (async () => {
      for (; sent < COUNT; sent += 250) {
        await send(data.slice(sent, sent + 250));
        await new Promise((r) => setTimeout(r, 120));
      }
    })();
    await waitFor('some of the rest sent', async () => sent >= FIRST + 1_500, 30_000, 50);
    const wiped = (await redis.eval(WIPE, 0, `${globEscape(run)}:*`)) as number;
    expect(wiped).toBeGreaterThan(100);
    expect(await redis.exists(campaignKeys(run).catalogue)).toBe(0);
    await waitFor(
      'workers asking for a rebuild',
      async () => workers.some((w) => w.output().includes('npm run rebuild')),
      30_000,
      100,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${output()}`);
    });

    // 3. Rebuild as the operator would, while events still arrive.
    const rebuild = await runCli('rebuild', ['--json'], { ...env, REBUILD_GRACE_MS: '2000' });
    rebuildMs = rebuild.ms;
    expect(rebuild.code, rebuild.stdout + rebuild.stderr).toBe(0);
    const result = JSON.parse(rebuild.stdout) as {
      verified: boolean;
      campaigns: number;
      measures: Record<string, unknown>;
      timingsMs: Record<string, number>;
      seconds: number;
    };
    expect(result).toMatchObject({
      verified: true,
      campaigns: 1,
      measures: { viewerKinds: ['all', 'city', 'district', 'category', 'platform'] },
    });
    expect(rebuild.stderr).toContain('campaign catalogue restored from ClickHouse (lt_campaigns): 1 campaign(s)');
    expect(rebuild.stderr).toMatch(/dimension scopes: [1-9]\d* minute bucket\(s\) of the last 3 h/);
    expect(rebuild.stderr).toMatch(
      /all, city, district, category, platform scopes: unique-viewer HyperLogLogs of [1-9]\d* scope\(s\) written from [1-9]\d* register\(s\)/,
    );
    expect(rebuild.stderr).toMatch(new RegExp(`${CAMPAIGN}: [1-9]\\d* leaderboard entries of ${CAMPAIGN}`));
    expect(rebuild.stderr).toMatch(
      /compared \d+ scope\(s\) of kinds all, city, district, category, platform, host, stream, campaign: \d+ agree, 0 differ/,
    );
    await producing;
    await producer.disconnect();
    await caughtUp();

    // 4. Totals: every dimension scope and the campaign scope exactly, and no other scope.
    const expected = expectedTotals(events);
    expected.set(CAMPAIGN, expectedTotals(events.filter(inCampaign)).get('all')!);
    const scopes = [...expected.keys()];
    const got = await store.readTotals(scopes);
    const wrong = scopes.filter((s) => JSON.stringify(got.get(s)) !== JSON.stringify(expected.get(s) as Totals));
    expect(wrong.slice(0, 5).map((s) => ({ scope: s, redis: got.get(s), expected: expected.get(s) }))).toEqual([]);
    expect((await live.scanScopes()).sort()).toEqual(scopes.sort());
    expect(expected.get(CAMPAIGN)!.orders).toBeGreaterThan(20);

    // 5. Leaderboards of `all` and of the campaign, every member of every board.
    for (const [parent, list] of [
      ['all', events],
      [CAMPAIGN, events.filter(inCampaign)],
    ] as const) {
      for (const dimension of Object.keys(DIMENSIONS) as Dimension[]) {
        for (const measure of MEASURES) {
          // Summed over the partitions' shares (ADR 0003).
          const board: Record<string, number> = {};
          for (const tag of await reader.partitionTags()) {
            const flat = await redis.zrange(
              reader.live.forTag(tag).ranking(parent, dimension, measure),
              0,
              -1,
              'WITHSCORES',
            );
            for (let i = 0; i < flat.length; i += 2) board[flat[i]!] = (board[flat[i]!] ?? 0) + Number(flat[i + 1]);
          }
          expect(board, `${parent} ${dimension} ${measure}`).toEqual(expectedBoard(list, dimension, measure));
        }
      }
    }

    // 6. Minute series (2 h, by event time), point by point, for a spread of scopes.
    const some = (kind: string, n: number) =>
      scopes
        .filter((s) => s.startsWith(`${kind}:`))
        .sort()
        .slice(0, n);
    const seriesScopes = [
      'all',
      CAMPAIGN,
      ...some('city', 9),
      ...some('district', 20),
      ...some('category', 20),
      ...some('platform', 9),
      ...some('host', 5),
      ...some('stream', 5),
    ];
    const series = await reader.series(seriesScopes, Date.now(), 120);
    let pointsWithEvents = 0;
    for (const scope of seriesScopes) {
      const points = series.get(scope)!;
      const first = points[0]!.t;
      const mine = events.filter(scopeFilter(scope)).filter((e) => e.ts >= first);
      const byMinute = new Map<number, LiveEvent[]>();
      for (const e of mine)
        byMinute.set(Math.floor(e.ts / MINUTE) * MINUTE, [
          ...(byMinute.get(Math.floor(e.ts / MINUTE) * MINUTE) ?? []),
          e,
        ]);
      const wantPoints = points.map((p) => ({
        t: p.t,
        ...(byMinute.has(p.t) ? expectedTotals(byMinute.get(p.t)!).get('all')! : emptyTotals()),
      }));
      expect(points, scope).toEqual(wantPoints);
      const sum = (f: keyof Totals) => points.reduce((s, p) => s + p[f], 0);
      const total = expectedTotals(mine).get('all');
      expect({ views: sum('views'), orders: sum('orders'), salesFen: sum('salesFen') }, scope).toEqual({
        views: total?.views ?? 0,
        orders: total?.orders ?? 0,
        salesFen: total?.salesFen ?? 0,
      });
      pointsWithEvents += byMinute.size;
    }
    expect(pointsWithEvents).toBeGreaterThan(500);

    // 7. Unique viewers and active hosts within HyperLogLog error (±3 %).
    const hllScopes = [
      'all',
      CAMPAIGN,
      ...some('city', 9),
      ...some('district', 20),
      ...some('category', 20),
      ...some('platform', 9),
    ];
    const measures = await reader.measures(hllScopes);
    for (const scope of hllScopes) {
      const m = measures.get(scope)!;
      const viewers = distinctViewers(scopeFilter(scope));
      const hosts = new Set(events.filter(scopeFilter(scope)).map((e) => e.hostId)).size;
      expect(
        Math.abs(m.uniqueViewers - viewers),
        `${scope} unique viewers ${m.uniqueViewers} vs ${viewers}`,
      ).toBeLessThanOrEqual(Math.max(2, viewers * 0.03));
      expect(Math.abs(m.activeHosts - hosts), `${scope} active hosts ${m.activeHosts} vs ${hosts}`).toBeLessThanOrEqual(
        Math.max(1, hosts * 0.03),
      );
    }
    expect(distinctViewers(() => true)).toBeGreaterThan(5_000);

    process.stdout.write(
      `[rebuild-live] ${wiped} keys wiped; rebuild CLI ${rebuild.ms} ms (grace 2000 ms), phases ${JSON.stringify(result.timingsMs)} ms, measures ${JSON.stringify(result.measures)}\n`,
    );
  }, 240_000);

  it('reconcile compares the campaign scope and names a tampered campaign counter', async () => {
    const want = expectedTotals(events.filter(inCampaign)).get('all')!;
    const scopes = expectedTotals(events).size + 1;

    const ok = await runCli('reconcile', [], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(
      'compared kinds: all, city, district, category, platform, host, stream, campaign (1 campaign(s) in the catalogue)',
    );
    expect(ok.stdout).toContain(`OK: ${scopes} scopes compared, all agree`);

    const share = store.keys.totals((await store.partitionTags())[0]!, CAMPAIGN);
    await redis.hincrby(share, 'orders', 1);
    const bad = await runCli('reconcile', [], env);
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`${CAMPAIGN}\\s+orders\\s+${want.orders + 1}\\s+${want.orders}\\s+\\+1`));
    expect(bad.stdout.split('\n').at(-2)).toMatch(new RegExp(`^DIFFER: 1 of ${scopes} scopes differ: ${CAMPAIGN}$`));
    expect(bad.stderr).toContain('comparing them again at a fresh cut');

    await redis.hincrby(share, 'orders', -1);
    expect((await runCli('reconcile', [], env)).code).toBe(0);
    process.stdout.write(
      `[rebuild-live] reconcile with the campaign scope: ${ok.ms} ms agreeing, ${bad.ms} ms with the tampered counter (includes the 2 s recheck); rebuild was ${rebuildMs} ms\n`,
    );
  });
});
