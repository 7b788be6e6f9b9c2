import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignKeys, matchesCampaign, type Campaign, type CampaignFilters } from '@livetally/campaigns';
import { LiveStateReader, RedisCounterStore, emptyTotals, type Totals } from '@livetally/live-state';
import type { LiveEvent } from '@livetally/events';
import type { RunningGateway } from '@livetally/gateway';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { createHistoryDatabase, startGatewayOn } from './support/gateway-history';
import { createTopics, deleteTopics, testKafka } from './support/kafka';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, ingestEnv, uniqueName, waitFor } from './support/stack';

/**
 * Campaign backfills on the real stack (Kafka, ingest worker processes, Redis, ClickHouse),
 * with in-process gateways sharing one key prefix: a gateway records a change and the
 * ingest worker runs its backfill. A change of name or targets starts no backfill; a
 * change of filters builds the new figures aside while live events keep arriving, so a
 * reader never sees a dip; two gateways changing one campaign at once end exact; a worker
 * killed or stopped mid-backfill leaves it to the next worker; minute buckets ahead of the
 * clock are replaced too.
 *
 * A campaign's figures are read through the package's readers (RedisCounterStore.readTotals,
 * LiveStateReader): they resolve `campaign:<id>` to its live generation and sum it over the
 * partitions' shares (ADR 0003), so the test spells no live key.
 */
const MINUTE = 60_000;
const run = uniqueName('campbf');
const topic = `lt.${run}`;
const prefix = uniqueName('lt-test-campbf');
const keys = campaignKeys(prefix);
const t0 = Date.now();
const window = {
  startsAt: Math.floor((t0 - 90 * MINUTE) / MINUTE) * MINUTE,
  endsAt: Math.ceil((t0 + 60 * MINUTE) / MINUTE) * MINUTE,
};
const produced: LiveEvent[] = [];

type Input = {
  id: string;
  name: string;
  startsAt: number;
  endsAt: number;
  filters: CampaignFilters;
  targets: Record<string, number>;
};
const input = (id: string, filters: CampaignFilters): Input => ({
  id,
  name: `Campaign ${id}`,
  ...window,
  filters,
  targets: { gmvFen: 100_000_000 },
});
const asCampaign = (c: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>): Campaign => ({
  ...c,
  id: 'x',
  name: 'x',
  timeZone: 'Asia/Shanghai',
  targets: {},
  status: 'active',
  createdAt: 0,
  updatedAt: 0,
  version: 1,
});
const ZERO: Totals = emptyTotals();
const FIELDS = Object.keys(ZERO) as (keyof Totals)[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('campaign backfill: aside, fenced, resumable', () => {
  let kafka: Kafka;
  let redis: Redis;
  let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
  let worker: ServiceProcess;
  let store: RedisCounterStore;
  let live: LiveStateReader;
  let gwA: RunningGateway;
  let gwB: RunningGateway;

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 4 },
      { topic: `${topic}.dlq`, numPartitions: 1 },
    ]);
    db = await createHistoryDatabase('campbf');
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix });
    live = new LiveStateReader(redis, prefix);
    worker = startService('ingest', ingestEnv({ topic, group: run, prefix, database: db.database }));
    // No ingest configuration: the gateways only record changes; the worker runs the backfills.
    gwA = await startGatewayOn(db.database, prefix);
    gwB = await startGatewayOn(db.database, prefix);
    // Enough history that a backfill takes a while on the shared stand-in.
    await produce(
      buildDataset({ seed: 9101, count: 40_000, startTs: t0 - 100 * MINUTE, spanMs: 95 * MINUTE, hosts: 200 }),
    );
    await ingested();
  }, 300_000);

  afterAll(async () => {
    await worker?.stop();
    await gwA?.stop();
    await gwB?.stop();
    const leftovers = await redis.keys(`${prefix}:*`);
    if (leftovers.length > 0) await redis.del(...leftovers);
    redis?.disconnect();
    await db?.drop();
    await deleteTopics(kafka, [topic, `${topic}.dlq`]);
  });

  /** Sends the messages, in slices with a pause between them when `paceMs` is set (live traffic over a while). */
  async function produce(messages: DatasetMessage[], paceMs = 0, slice = 2_000): Promise<void> {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += slice) {
        const part = messages.slice(i, i + slice);
        await producer.send({ topic, acks: -1, messages: part.map((m) => ({ key: m.key, value: m.value })) });
        for (const m of part) if (m.event) produced.push(m.event);
        if (paceMs > 0) await sleep(paceMs);
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** Waits until Redis has applied everything produced so far. */
  async function ingested(): Promise<void> {
    const want = expectedTotals(produced).get('all')!;
    await waitFor(
      `ingest of ${produced.length} events`,
      async () => {
        const got = (await store.readTotals(['all'])).get('all')!;
        return FIELDS.every((f) => got[f] === want[f]);
      },
      120_000,
      250,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${worker.output().slice(-3000)}`);
    });
  }

  const matching = (c: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>) =>
    produced.filter((e) => matchesCampaign(asCampaign(c), e));
  const expectedFor = (c: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>): Totals =>
    expectedTotals(matching(c)).get('all') ?? ZERO;
  const liveTotals = async (id: string): Promise<Totals> =>
    (await store.readTotals([`campaign:${id}`])).get(`campaign:${id}`)!;
  /** The campaign's HyperLogLog estimates, merged over its live generation's shares. */
  const uniques = async (id: string) => {
    const m = (await live.measures([`campaign:${id}`])).get(`campaign:${id}`)!;
    return { viewers: m.uniqueViewers, hosts: m.activeHosts };
  };

  function districtGmv(c: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>) {
    const by = new Map<string, number>();
    for (const e of matching(c)) if (e.type === 'sale') by.set(e.district, (by.get(e.district) ?? 0) + e.amountFen);
    return [...by].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name, value]) => ({ name, value }));
  }

  /** Totals, district ranking and minute buckets of the campaign exactly as history says; unique counts within HyperLogLog error. */
  async function expectExact(id: string, c: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>): Promise<void> {
    expect(await liveTotals(id)).toEqual(expectedFor(c));
    const ranking = (await live.ranking(`campaign:${id}`, 'district', 'gmv')).top;
    expect([...ranking].sort((a, b) => b.value - a.value || a.name.localeCompare(b.name))).toEqual(districtGmv(c));
    const series = (await live.series([`campaign:${id}`], Date.now(), 120)).get(`campaign:${id}`)!;
    const from = series[0]!.t;
    const recent = matching(c).filter((e) => e.ts >= from && e.ts < series[series.length - 1]!.t + MINUTE);
    expect(series.reduce((s, p) => s + p.orders, 0)).toBe(recent.filter((e) => e.type === 'sale').length);
    expect(series.reduce((s, p) => s + p.views, 0)).toBe(recent.filter((e) => e.type === 'view').length);
    const hosts = new Set(matching(c).map((e) => e.hostId)).size;
    expect(Math.abs((await uniques(id)).hosts - hosts)).toBeLessThanOrEqual(Math.ceil(hosts * 0.03));
  }

  const send = async (gw: RunningGateway, method: 'POST' | 'PUT', c: Input) => {
    const res = await gw.app.inject({
      method,
      url: method === 'POST' ? '/v1/campaigns' : `/v1/campaigns/${c.id}`,
      payload: c,
    });
    expect(res.statusCode, res.body).toBe(method === 'POST' ? 201 : 200);
    return res.json() as Campaign;
  };

  /**
   * Reads the campaign's totals and `all` (summed over partitions, the campaign's through its
   * live generation), and whether it is pending, a staging generation is registered and which
   * generation is live (one MULTI in the campaign slot, read first), as fast as it can until stopped.
   */
  function poll(id: string) {
    const reads: { totals: Totals; pending: boolean; staging: boolean; gen: string | null; allViews: number }[] = [];
    let stop = false;
    const done = (async () => {
      while (!stop) {
        const [[, pending], [, staging], [, gen]] = (await redis
          .multi()
          .hexists(keys.pending, id)
          .hexists(keys.staging, id)
          .hget(keys.live, id)
          .exec()) as [[null, number], [null, number], [null, string | null]];
        const sums = await store.readTotals([`campaign:${id}`, 'all']);
        reads.push({
          totals: sums.get(`campaign:${id}`)!,
          pending: pending === 1,
          staging: staging === 1,
          gen,
          allViews: sums.get('all')!.views,
        });
        await sleep(2);
      }
    })();
    return { reads, stop: async () => ((stop = true), await done, reads) };
  }

  it('a change of name or targets only starts no backfill and changes no live figure', async () => {
    const c = input('rename', { districts: ['Futian', 'Luohu'] });
    await send(gwA, 'POST', c);
    await gwA.campaigns.idle();
    await expectExact('rename', c);
    const viewersBefore = (await uniques('rename')).viewers;
    const before = await liveTotals('rename');

    const reader = poll('rename');
    // Same window and filters (in another order), new name and targets.
    const saved = await send(gwB, 'PUT', {
      ...c,
      name: 'Renamed',
      targets: { gmvFen: 5, views: 7 },
      filters: { districts: ['Luohu', 'Futian'] },
    });
    expect(saved).toMatchObject({ name: 'Renamed', version: 2, targets: { gmvFen: 5, views: 7 } });
    await gwB.campaigns.idle();
    await sleep(500);
    const reads = await reader.stop();

    expect(reads.length).toBeGreaterThan(20);
    expect(reads.filter((r) => r.pending || r.staging)).toEqual([]); // never pending: no backfill
    expect(new Set(reads.map((r) => r.gen)).size).toBe(1); // no generation swapped in
    expect(reads.filter((r) => FIELDS.some((f) => r.totals[f] !== before[f]))).toEqual([]);
    expect((await uniques('rename')).viewers).toBe(viewersBefore);
    await expectExact('rename', c);
  });

  it('builds widened figures aside: no reader sees a dip, live events during the backfill reach them, totals end exact', async () => {
    const narrow = input('widen', { districts: ['Luohu'] });
    await send(gwA, 'POST', narrow);
    await gwA.campaigns.idle();
    await expectExact('widen', narrow);

    const reader = poll('widen');
    const wide = { ...narrow, filters: {} };
    // Live traffic throughout the backfill.
    const traffic = produce(
      buildDataset({ seed: 9102, count: 8_000, startTs: Date.now() - 2 * MINUTE, spanMs: 2 * MINUTE, hosts: 200 }),
      150,
      250,
    );
    await sleep(300);
    await send(gwA, 'PUT', wide);
    await gwA.campaigns.idle();
    await traffic;
    await ingested();
    const reads = await reader.stop();

    // Widening and live events only ever add: every read is at least the one before it.
    const dips = reads.flatMap((r, i) =>
      i > 0 && FIELDS.some((f) => r.totals[f] < reads[i - 1]!.totals[f])
        ? [{ before: reads[i - 1]!.totals, after: r.totals, at: i }]
        : [],
    );
    expect(dips.slice(0, 3)).toEqual([]);
    expect(reads[0]!.totals.views).toBeGreaterThan(0);
    // The new figures were being built while live events were applied.
    const aside = reads.filter((r) => r.staging);
    expect(aside.length).toBeGreaterThan(0);
    expect(aside[aside.length - 1]!.allViews).toBeGreaterThan(aside[0]!.allViews);
    expect(await redis.hexists(keys.staging, 'widen')).toBe(0);
    expect(await redis.hexists(keys.pending, 'widen')).toBe(0);
    await expectExact('widen', wide);
  });

  it('two gateways changing one campaign at the same moment: one definition wins and its figures end exact', async () => {
    const c = input('race', { districts: ['Futian'] });
    await send(gwA, 'POST', c);
    await gwA.campaigns.idle();
    const rounds: [CampaignFilters, CampaignFilters][] = [
      [{ districts: ['Luohu', 'Nanshan'] }, { categories: ['jewellery'] }],
      [{}, { districts: ['Futian', 'Longgang'] }],
      [{ platforms: ['douyin'] }, { districts: ["Bao'an"], categories: ['clothing', 'beauty'] }],
    ];
    for (const [i, [a, b]] of rounds.entries()) {
      const traffic = produce(
        buildDataset({ seed: 9200 + i, count: 2_000, startTs: Date.now() - MINUTE, spanMs: MINUTE, hosts: 200 }),
        100,
        250,
      );
      await Promise.all([send(gwA, 'PUT', { ...c, filters: a }), send(gwB, 'PUT', { ...c, filters: b })]);
      await Promise.all([gwA.campaigns.idle(), gwB.campaigns.idle()]);
      await traffic;
      await ingested();
      const winner = (await gwA.app.inject('/v1/campaigns/race')).json().campaign as Campaign;
      expect([JSON.stringify(a), JSON.stringify(b)]).toContain(JSON.stringify(winner.filters));
      await expectExact('race', winner);
    }
    expect(await redis.hlen(keys.pending)).toBe(0);
  });

  it('clears and rebuilds minute buckets in the future part of the window too', async () => {
    const narrow = input('ahead', { districts: ['Luohu'] });
    await send(gwA, 'POST', narrow);
    await gwA.campaigns.idle();
    // Events stamped 2-4 minutes ahead (within the validator's future bound), counted live.
    const ahead = buildDataset({
      seed: 9301,
      count: 1_500,
      startTs: Date.now() + 2 * MINUTE,
      spanMs: 2 * MINUTE,
      hosts: 200,
    });
    await produce(ahead);
    await ingested();
    const minutes = [...new Set(ahead.map((m) => Math.floor(m.event!.ts / MINUTE) * MINUTE))];
    // The campaign's minute buckets from a minute after the last one back to the first, summed over partitions.
    const bucket = async (t: number) => {
      const first = Math.min(...minutes);
      const last = Math.max(...minutes);
      const series = (await live.series(['campaign:ahead'], last + MINUTE, (last - first) / MINUTE + 2)).get(
        'campaign:ahead',
      )!;
      const p = series.find((point) => point.t === t)!;
      return { orders: p.orders, views: p.views, salesFen: p.salesFen };
    };
    const exact = (c: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>, t: number) => {
      const inMinute = matching(c).filter((e) => e.ts >= t && e.ts < t + MINUTE);
      const sales = inMinute.filter((e) => e.type === 'sale');
      return {
        orders: sales.length,
        views: inMinute.filter((e) => e.type === 'view').length,
        salesFen: sales.reduce((s, e) => s + (e.type === 'sale' ? e.amountFen : 0), 0),
      };
    };
    for (const t of minutes) expect(await bucket(t)).toEqual(exact(narrow, t));
    expect(minutes.some((t) => exact(narrow, t).views > 0)).toBe(true);

    const wide = { ...narrow, filters: { districts: ['Luohu', 'Futian', 'Nanshan'] } };
    await send(gwA, 'PUT', wide);
    await gwA.campaigns.idle();
    for (const t of minutes) expect(await bucket(t)).toEqual(exact(wide, t));
    await expectExact('ahead', wide);
  });

  /** The running ingest worker, killed or stopped below, and a fresh one on the same topic, group, prefix and database. */
  const restartWorker = () => {
    // At info: the test reads the new worker's backfill progress.
    worker = startService(
      'ingest',
      ingestEnv({ topic, group: run, prefix, database: db.database }, { LOG_LEVEL: 'info' }),
    );
    return worker;
  };
  /** Waits until the campaign is no longer pending: the worker's backfill swapped its figures in. */
  const swappedIn = (id: string, by: ServiceProcess) =>
    waitFor(
      'the backfill resumed and swapped in',
      async () => (await redis.hexists(keys.pending, id)) === 0,
      90_000,
      200,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${by.output().slice(-3000)}`);
    });

  it('an ingest worker killed mid-backfill: the next worker takes it over and totals end exact', async () => {
    const narrow = input('killed', { districts: ['Nanshan'] });
    await send(gwA, 'POST', narrow);
    await gwA.campaigns.idle();
    const before = await liveTotals('killed');
    expect(before.views).toBe(expectedFor(narrow).views);

    const wide = { ...narrow, filters: {} };
    await send(gwA, 'PUT', wide);
    // Kill it once the backfill is under way: its cut taken (or, with clear-then-add, the figures moved).
    await waitFor(
      'backfill under way',
      async () =>
        (await redis.hexists(keys.staging, 'killed')) === 1 || (await liveTotals('killed')).views !== before.views,
      30_000,
      2,
    );
    worker.child.kill('SIGKILL');
    await worker.exited;
    expect(await redis.hexists(keys.pending, 'killed')).toBe(1); // it had not finished

    // Live events while no worker runs, then the next worker.
    await produce(buildDataset({ seed: 9401, count: 2_000, startTs: Date.now() - MINUTE, spanMs: MINUTE, hosts: 200 }));
    const second = restartWorker();
    await swappedIn('killed', second);
    expect(second.output()).toMatch(/running pending campaign backfills/);
    expect(second.output()).toMatch(/swapped in/);
    await ingested();
    await expectExact('killed', wide);
  });

  it('an ingest worker stopped (SIGTERM) mid-backfill leaves it to the next one, which ends it exact', async () => {
    const narrow = input('stopped', { districts: ['Longgang'] });
    await send(gwA, 'POST', narrow);
    await gwA.campaigns.idle();
    expect((await liveTotals('stopped')).views).toBe(expectedFor(narrow).views);
    const wide = { ...narrow, filters: { districts: ['Longgang', 'Futian', "Bao'an"] } };
    await send(gwA, 'PUT', wide);
    await waitFor('backfill under way', async () => (await redis.hexists(keys.staging, 'stopped')) === 1, 30_000, 2);
    expect(await worker.stop('SIGTERM')).toBe(0); // a clean exit, well within the shutdown deadline
    expect(await redis.hexists(keys.pending, 'stopped')).toBe(1);
    expect(await redis.exists(keys.lease('stopped'))).toBe(0); // released, not left to expire

    const second = restartWorker();
    await swappedIn('stopped', second);
    await ingested();
    await expectExact('stopped', wide);
  });
});
