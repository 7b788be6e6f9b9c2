import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { matchesCampaign, type Campaign } from '@livetally/campaigns';
import {
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURES,
  LEADERBOARD_MEASURE_NAMES,
  MEASURES,
  encodeEvent,
  tally,
  type LiveEvent,
  type MeasureTotals,
} from '@livetally/events';
import { EventHistory } from '@livetally/history';
import {
  RedisCounterStore,
  globEscape,
  liveKeys,
  logicalScope,
  resolveLiveScopes,
  sumTotals,
} from '@livetally/live-state';
import { buildDataset, type DatasetMessage } from '../services/simulator/src/dataset';
import { runCli } from './support/cli';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';
import { createTopics, deleteTopics, testKafka, waitUntilApplied, waitUntilStored } from './support/kafka';
import { startService, type ServiceProcess } from './support/processes';
import { ingestEnv, STACK, uniqueName } from './support/stack';

/**
 * One counting rule, every path. The same events go through a real ingest worker into
 * Redis (totals, minute buckets, leaderboards), into ClickHouse (raw rows, read as a
 * rebuild and reconcile read them, and the per-minute rollup, read through the history
 * API), through a campaign backfill (recorded by the gateway, run by the worker) and
 * through a rebuild of the whole live state from ClickHouse; each path is compared with
 * what the counting rule says in its plainest form (tally), every scope, minute and
 * leaderboard member exactly.
 */
const MINUTE = 60_000;
const run = uniqueName('rule');
const topic = `lt.${run}`;
const dlqTopic = `${topic}.dlq`;
const now = Date.now();
const generated = buildDataset({
  seed: 1313,
  count: 6_000,
  startTs: now - 100 * MINUTE,
  spanMs: 95 * MINUTE,
  hosts: 60,
});
// A sale of a gift (0 fen) still counts an order and its items: the rule lists a measure even with amount 0.
const gift: LiveEvent = {
  ...(generated.find((m) => m.event?.type === 'sale')!.event as LiveEvent & { type: 'sale' }),
  eventId: 'gift-1',
  orderId: 'gift-1',
  amountFen: 0,
};
// Platforms' per-interval view counts: a view with a count stands for that many views; most name no viewer.
const counted: LiveEvent[] = generated
  .filter((m) => m.event?.type === 'view')
  .slice(0, 300)
  .map((m, i) => {
    const { viewerId, ...view } = m.event as LiveEvent & { type: 'view' };
    const count = 2 + ((i * 7919) % 20_000);
    return i % 3 === 0
      ? { ...view, eventId: `count-${i}`, viewerId, count }
      : { ...view, eventId: `count-${i}`, count };
  });
const data: DatasetMessage[] = [
  ...generated,
  ...[gift, ...counted].map((e): DatasetMessage => ({
    key: e.streamId,
    value: encodeEvent(e),
    event: e,
    kind: 'valid',
  })),
];
const events: LiveEvent[] = data.map((m) => m.event!);
const districts = [...new Set(events.map((e) => e.district))].sort().slice(0, 3);
const campaignInput = {
  id: 'rule-month',
  name: 'Rule month',
  startsAt: Math.floor((now - 70 * MINUTE) / MINUTE) * MINUTE,
  endsAt: Math.ceil((now + 60 * MINUTE) / MINUTE) * MINUTE,
  filters: { districts },
  targets: {},
};
const CAMPAIGN = `campaign:${campaignInput.id}`;
const campaign: Campaign = {
  ...campaignInput,
  timeZone: 'Asia/Shanghai',
  status: 'active',
  createdAt: 0,
  updatedAt: 0,
  version: 1,
};
const inCampaign = (e: LiveEvent): boolean => matchesCampaign(campaign, e);
const campaignsOf = (e: LiveEvent): string[] => (inCampaign(e) ? [CAMPAIGN] : []);

// The counted views weigh: views are no longer the number of view events.
if (tally(events).get('all')!.views < 2 * events.filter((e) => e.type === 'view').length)
  throw new Error('the counted views should dominate the views');

// ---- The oracle: the counting rule, applied plainly. ----

type Buckets = Map<string, Map<number, MeasureTotals>>;
type Boards = Map<string, Record<string, number>>;

/** Minute buckets by scope and event minute: the rule tallied over each minute's events. */
function expectedBuckets(list: readonly LiveEvent[], extra: (e: LiveEvent) => readonly string[]): Buckets {
  const byMinute = new Map<number, LiveEvent[]>();
  for (const e of list) {
    const t = Math.floor(e.ts / MINUTE) * MINUTE;
    byMinute.set(t, [...(byMinute.get(t) ?? []), e]);
  }
  const out: Buckets = new Map();
  for (const [t, group] of byMinute)
    for (const [scope, totals] of tally(group, extra)) {
      if (!out.has(scope)) out.set(scope, new Map());
      out.get(scope)!.set(t, totals);
    }
  return out;
}

/** Leaderboards of a parent: per dimension and leaderboard measure, each member's non-zero total. */
function expectedBoards(parent: string, list: readonly LiveEvent[]): Boards {
  const totals = tally(list);
  const out: Boards = new Map();
  for (const d of LEADERBOARD_DIMENSIONS)
    for (const m of LEADERBOARD_MEASURE_NAMES) {
      const board: Record<string, number> = {};
      for (const [scope, t] of totals)
        if (scope.startsWith(`${d}:`) && t[LEADERBOARD_MEASURES[m]] !== 0)
          board[scope.slice(d.length + 1)] = t[LEADERBOARD_MEASURES[m]];
      out.set(`${parent} ${d} ${m}`, board);
    }
  return out;
}

/** What the rule says the live state holds, with or without the campaign's scope and leaderboards. */
function ruleSays(withCampaign: boolean) {
  const extra = withCampaign ? campaignsOf : () => [];
  const boards = expectedBoards('all', events);
  if (withCampaign) for (const [k, v] of expectedBoards(CAMPAIGN, events.filter(inCampaign))) boards.set(k, v);
  return { totals: tally(events, extra), buckets: expectedBuckets(events, extra), boards };
}
const oracle = ruleSays(true);

// ---- The paths. ----

describe('one counting rule, every path', () => {
  let fx: HistoryFixture;
  let kafka: Kafka;
  let redis: Redis;
  let store: RedisCounterStore;
  let worker: ServiceProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 3 },
      { topic: dlqTopic, numPartitions: 1 },
    ]);
    fx = await startHistoryGateway('rule', []);
    env = ingestEnv({ topic, group: run, prefix: fx.prefix, database: fx.database }, { INGEST_RETRY_MAX_MS: '1000' });
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix: fx.prefix });
    worker = startService('ingest', env);
  });

  afterAll(async () => {
    await worker?.stop();
    redis?.disconnect();
    await fx?.close();
    await deleteTopics(kafka, [topic, dlqTopic]);
  });

  /** Every totals key, minute bucket and leaderboard under the prefix, read back (summed over the partitions' shares). */
  async function readLiveState() {
    const keys = liveKeys(fx.prefix);
    const tags = await store.partitionTags();
    const scopes = [...oracle.totals.keys()];
    const totals = await store.readTotals(scopes);
    const buckets: Buckets = new Map();
    const head = new RegExp(`^${fx.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:m:\\{[^}]*\\}:(.*):(\\d+)$`);
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${globEscape(fx.prefix)}:m:*`, 'COUNT', 2_000);
      cursor = next;
      const p = redis.pipeline();
      for (const k of found) p.hgetall(k);
      const replies = (await p.exec()) ?? [];
      found.forEach((k, i) => {
        // A campaign's buckets are stored under its live generation (`campaign:<id>@<gen>`, ADR 0003).
        const [, stored, minute] = head.exec(k)!;
        const scope = logicalScope(stored!);
        if (!buckets.has(scope!)) buckets.set(scope!, new Map());
        const t = Number(minute) * MINUTE;
        const share = fromHash(replies[i]![1] as Record<string, string>);
        const before = buckets.get(scope!)!.get(t);
        if (before) for (const f of Object.keys(share) as (keyof typeof share)[]) before[f] += share[f];
        buckets.get(scope!)!.set(t, before ?? share);
      });
    } while (cursor !== '0');
    const boards: Boards = new Map();
    const parents = await resolveLiveScopes(redis, ['all', CAMPAIGN], fx.prefix);
    for (const [pi, parent] of ['all', CAMPAIGN].entries())
      for (const d of LEADERBOARD_DIMENSIONS)
        for (const m of LEADERBOARD_MEASURE_NAMES) {
          const board: Record<string, number> = {};
          for (const tag of tags) {
            const flat = await redis.zrange(keys.forTag(tag).ranking(parents[pi]!, d, m), 0, -1, 'WITHSCORES');
            for (let i = 0; i < flat.length; i += 2) board[flat[i]!] = (board[flat[i]!] ?? 0) + Number(flat[i + 1]);
          }
          boards.set(`${parent} ${d} ${m}`, board);
        }
    return { totals, buckets, boards };
  }

  /** Redis holds exactly what the rule says: every scope's totals, minute bucket and leaderboard. */
  async function expectLiveStateAsTheRuleSays(when: string, want: ReturnType<typeof ruleSays>) {
    const got = await readLiveState();
    const wrongTotals = [...oracle.totals.keys()].filter((s) => !same(got.totals.get(s), want.totals.get(s)));
    expect(
      wrongTotals.slice(0, 3).map((scope) => ({ scope, redis: got.totals.get(scope), rule: want.totals.get(scope) })),
      `${when}: totals`,
    ).toEqual([]);
    expect([...got.buckets.keys()].sort(), `${when}: scopes with minute buckets`).toEqual(
      [...want.buckets.keys()].sort(),
    );
    for (const [scope, minutes] of want.buckets) {
      const mine = got.buckets.get(scope)!;
      expect([...mine.keys()].sort(), `${when}: minutes of ${scope}`).toEqual([...minutes.keys()].sort());
      const wrong = [...minutes].filter(([t, totals]) => !same(mine.get(t), totals));
      expect(wrong.slice(0, 2), `${when}: minute buckets of ${scope}`).toEqual([]);
    }
    for (const [board, members] of got.boards)
      expect(members, `${when}: ${board}`).toEqual(want.boards.get(board) ?? {});
  }

  it('the worker applies in Redis what the rule says', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < data.length; i += 2_000)
      await producer.send({
        topic,
        acks: -1,
        messages: data.slice(i, i + 2_000).map((m) => ({ key: m.key, value: m.value })),
      });
    await producer.disconnect();
    await waitUntilApplied(
      kafka,
      topic,
      () => store.appliedOffsets(topic),
      () => worker.output().slice(-3000),
    );

    // No campaign yet: its scope and leaderboards are the backfill's (below).
    await expectLiveStateAsTheRuleSays('after ingest', ruleSays(false));
    expect(oracle.totals.get('all')!.orders).toBeGreaterThan(100);
    expect(oracle.totals.get(CAMPAIGN)!.orders).toBeGreaterThan(10);
    // Likes come in batches: more likes than like events.
    const likeEvents = events.filter((e) => e.type === 'like').length;
    expect(likeEvents).toBeGreaterThan(100);
    expect(oracle.totals.get('all')!.likes).toBeGreaterThan(likeEvents);

    // REST and WebSocket serve the same totals.
    const likedStream = events.find((e) => e.type === 'like' && e.count > 1)!.streamId;
    for (const scope of ['all', `district:${districts[0]}`, `stream:${likedStream}`]) {
      const rest = await fx.gateway.app.inject(`/v1/totals/${encodeURIComponent(scope)}`);
      expect(rest.json().totals, scope).toEqual(oracle.totals.get(scope));
      expect(await liveSnapshot(fx.gateway.url, `totals:${scope}`), scope).toMatchObject(oracle.totals.get(scope)!);
    }
  });

  it('ClickHouse computes the same totals per scope from raw rows (as rebuild and reconcile read them)', async () => {
    await waitUntilStored(redis, fx.prefix, topic);
    const byPartition = await new EventHistory(fx.client).totalsByPartition(topic, await store.appliedOffsets(topic));
    // Each scope's partition shares, summed as the gateway sums them.
    const shares = new Map<string, Record<string, string>[]>();
    for (const scopes of byPartition.values())
      for (const [scope, text] of scopes) shares.set(scope, [...(shares.get(scope) ?? []), text]);
    const history = new Map([...shares].map(([scope, texts]) => [scope, sumTotals(texts)]));
    const dimensions = [...oracle.totals].filter(([s]) => s !== CAMPAIGN);
    expect(history.size).toBe(dimensions.length);
    const wrong = dimensions.filter(([s, want]) => !same(history.get(s), want));
    expect(wrong.slice(0, 3).map(([s, want]) => ({ s, clickhouse: history.get(s), rule: want }))).toEqual([]);
  });

  it('the rollup, through the history API, says the same for every rolled-up scope and minute', async () => {
    const from = Math.min(...events.map((e) => e.ts));
    const to = Math.max(...events.map((e) => e.ts)) + 1;
    const range = `from=${Math.floor(from / MINUTE) * MINUTE}&to=${Math.ceil(to / MINUTE) * MINUTE}`;
    const rolledUp = [...oracle.totals].filter(([s]) => s !== CAMPAIGN && !s.startsWith('stream:'));
    for (const [scope, want] of rolledUp) {
      const res = await fx.gateway.app.inject(`/v1/history/totals?scope=${encodeURIComponent(scope)}&${range}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().totals, scope).toMatchObject({ ...want, netSalesFen: want.salesFen - want.refundsFen });
    }
    const series = await fx.gateway.app.inject(`/v1/history/series?scope=all&${range}&granularity=minute&tz=UTC`);
    expect(series.statusCode, series.body).toBe(200);
    const buckets = series.json().buckets as (Record<string, number> & { bucket: string })[];
    const got = new Map(buckets.map((b) => [Date.parse(`${b.bucket}Z`), b]));
    const want = oracle.buckets.get('all')!;
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [t, totals] of want) expect(got.get(t), new Date(t).toISOString()).toMatchObject(totals);
  });

  it('a campaign backfill builds the campaign scope as the rule says', async () => {
    const created = await fx.gateway.app.inject({ method: 'POST', url: '/v1/campaigns', payload: campaignInput });
    expect(created.statusCode, created.body).toBe(201);
    await fx.gateway.campaigns.idle();
    await expectLiveStateAsTheRuleSays('after the campaign backfill', oracle);
    const detail = (await fx.gateway.app.inject(`/v1/campaigns/${campaignInput.id}`)).json();
    expect(detail.history).toMatchObject(oracle.totals.get(CAMPAIGN)!);
  });

  it('a rebuild from ClickHouse restores what the rule says, and reconcile agrees', async () => {
    const wiped = (await redis.eval(
      `local keys = redis.call('KEYS', ARGV[1])
       for i = 1, #keys, 1000 do redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys))) end
       return #keys`,
      0,
      `${globEscape(fx.prefix)}:*`,
    )) as number;
    expect(wiped).toBeGreaterThan(100);
    const rebuild = await runCli('rebuild', ['--json'], { ...env, REBUILD_GRACE_MS: '1000' });
    expect(rebuild.code, rebuild.stdout + rebuild.stderr).toBe(0);
    expect(JSON.parse(rebuild.stdout)).toMatchObject({ verified: true, campaigns: 1 });
    await expectLiveStateAsTheRuleSays('after the rebuild', oracle);
    const reconcile = await runCli('reconcile', ['--json'], env);
    expect(reconcile.code, reconcile.stdout + reconcile.stderr).toBe(0);
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ agree: true });
  });
});

/** Equal measure by measure; a scope the rule does not name must be all zeros (Redis answers an absent key so). */
function same(a: Partial<MeasureTotals> | undefined, b: MeasureTotals | undefined): boolean {
  return MEASURES.every((m) => (a?.[m] ?? 0) === (b?.[m] ?? 0));
}

function fromHash(hash: Record<string, string> | undefined): MeasureTotals {
  return Object.fromEntries(MEASURES.map((m) => [m, Number(hash?.[m] ?? 0)])) as MeasureTotals;
}

/** The snapshot of one live channel, over the gateway's WebSocket. */
async function liveSnapshot(baseUrl: string, channel: string): Promise<Record<string, number>> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/live`);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no snapshot of ${channel} within 5 s`)), 5_000);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', channel })));
      ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw)) as { type: string; channel?: string; data?: Record<string, number> };
        if (frame.type !== 'snapshot' || frame.channel !== channel) return;
        clearTimeout(timer);
        resolve(frame.data!);
      });
    });
  } finally {
    ws.close();
  }
}
