import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesCampaign, type Campaign } from '@livetally/campaigns';
import { LiveStateReader, RedisCounterStore, type Totals } from '@livetally/live-state';
import { buildDataset, expectedTotals, type DatasetMessage } from '../services/simulator/src/dataset';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';
import { createTopics, deleteTopics, testKafka, waitUntilStored } from './support/kafka';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, ingestEnv, uniqueName, waitFor } from './support/stack';

/**
 * A campaign created after its start and then widened: the backfill from ClickHouse
 * plus live counting must equal the campaign's events exactly, with no gap or double
 * count while ingest runs, and the live tallies must equal the history API's figures.
 */
const MINUTE = 60_000;
const run = uniqueName('camplive');
const topic = `lt.${run}`;
const now = Date.now();
const data: DatasetMessage[] = buildDataset({
  seed: 823,
  count: 12_000,
  startTs: now - 100 * MINUTE,
  spanMs: 95 * MINUTE,
  hosts: 150,
});
const events = data.map((m) => m.event!);
const campaignInput = {
  id: 'shenzhen-month',
  name: 'Livestreaming E-commerce Month',
  startsAt: Math.floor((now - 80 * MINUTE) / MINUTE) * MINUTE,
  endsAt: Math.ceil((now + 60 * MINUTE) / MINUTE) * MINUTE,
  filters: { districts: ['Luohu', 'Futian', "Bao'an"] },
  targets: { gmvFen: 100_000_000 },
};

describe('campaign tallies: backfill, live counting and history agree', () => {
  let fx: HistoryFixture;
  let kafka: Kafka;
  let redis: Redis;
  let worker: ServiceProcess;
  let store: RedisCounterStore;
  let live: LiveStateReader;

  beforeAll(async () => {
    kafka = testKafka();
    await createTopics(kafka, [
      { topic, numPartitions: 4 },
      { topic: `${topic}.dlq`, numPartitions: 1 },
    ]);
    // The gateway records campaign changes only; the ingest worker runs their backfills.
    fx = await startHistoryGateway('camplive', []);
    redis = new Redis(STACK.redisUrl);
    store = new RedisCounterStore(redis, { prefix: fx.prefix });
    live = new LiveStateReader(redis, fx.prefix);
    worker = startService('ingest', ingestEnv({ topic, group: run, prefix: fx.prefix, database: fx.database }));
  });

  afterAll(async () => {
    await worker?.stop();
    redis?.disconnect();
    await fx?.close();
    await deleteTopics(kafka, [topic, `${topic}.dlq`]);
  });

  async function produce(part: DatasetMessage[]) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < part.length; i += 2_000)
      await producer.send({
        topic,
        acks: -1,
        messages: part.slice(i, i + 2_000).map((m) => ({ key: m.key, value: m.value })),
      });
    await producer.disconnect();
  }

  async function ingested(upTo: number) {
    const want = expectedTotals(events.slice(0, upTo)).get('all')!;
    await waitFor(
      `ingest of ${upTo} events`,
      async () => {
        const got = (await store.readTotals(['all'])).get('all')!;
        return got.views === want.views && got.orders === want.orders && got.sessions === want.sessions;
      },
      90_000,
      250,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${worker.output().slice(-3000)}`);
    });
  }

  const campaignTotals = (c: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>): Totals =>
    expectedTotals(
      events.filter((e) =>
        matchesCampaign(
          {
            ...c,
            id: 'x',
            name: 'x',
            timeZone: 'Asia/Shanghai',
            targets: {},
            status: 'active',
            createdAt: 0,
            updatedAt: 0,
            version: 1,
          },
          e,
        ),
      ),
    ).get('all')!;

  const districtGmv = (c: typeof campaignInput) => {
    const by = new Map<string, number>();
    for (const e of events) {
      if (e.type === 'sale' && e.ts >= c.startsAt && e.ts < c.endsAt && c.filters.districts.includes(e.district))
        by.set(e.district, (by.get(e.district) ?? 0) + e.amountFen);
    }
    return [...by].sort((a, b) => b[1] - a[1]).map(([name, value]) => ({ name, value }));
  };

  async function liveTotals(id: string): Promise<Totals & Record<string, number>> {
    const res = await fx.gateway.app.inject(`/v1/totals/campaign:${id}`);
    expect(res.statusCode).toBe(200);
    return res.json().totals;
  }

  it('backfills a campaign created mid-stream, then counts it live, exactly', async () => {
    const half = Math.floor(data.length / 2);
    await produce(data.slice(0, half));
    await ingested(half);

    const created = await fx.gateway.app.inject({ method: 'POST', url: '/v1/campaigns', payload: campaignInput });
    expect(created.statusCode, created.body).toBe(201);
    // The second half arrives while the backfill runs.
    await produce(data.slice(half));
    await ingested(data.length);
    await fx.gateway.campaigns.idle();

    const want = campaignTotals(campaignInput);
    expect(want.orders).toBeGreaterThan(50);
    expect(await liveTotals(campaignInput.id)).toMatchObject(want);
    const ranking = await live.ranking(`campaign:${campaignInput.id}`, 'district', 'gmv');
    expect(ranking.top).toEqual(districtGmv(campaignInput));

    // The history API over the same window (rollups) says the same, once ClickHouse holds what Redis applied.
    await waitUntilStored(redis, fx.prefix, topic);
    const detail = (await fx.gateway.app.inject(`/v1/campaigns/${campaignInput.id}`)).json();
    expect(detail.history).toMatchObject({
      views: want.views,
      sessions: want.sessions,
      salesFen: want.salesFen,
      refundsFen: want.refundsFen,
      orders: want.orders,
      items: want.items,
    });
  });

  it('re-backfills when the campaign is widened', async () => {
    const widened = {
      ...campaignInput,
      filters: { districts: [...campaignInput.filters.districts, 'Nanshan', 'Longgang'] },
    };
    const res = await fx.gateway.app.inject({
      method: 'PUT',
      url: `/v1/campaigns/${campaignInput.id}`,
      payload: widened,
    });
    expect(res.statusCode, res.body).toBe(200);
    await fx.gateway.campaigns.idle();
    const want = campaignTotals(widened);
    expect(want.salesFen).toBeGreaterThan(campaignTotals(campaignInput).salesFen);
    expect(await liveTotals(campaignInput.id)).toMatchObject(want);
    expect((await live.ranking(`campaign:${campaignInput.id}`, 'district', 'gmv')).top).toEqual(districtGmv(widened));
    const series = (await live.series([`campaign:${campaignInput.id}`], Date.now(), 120)).get(
      `campaign:${campaignInput.id}`,
    )!;
    const inSeries = series.reduce((s, p) => s + p.orders, 0);
    const recent = events.filter(
      (e) =>
        e.type === 'sale' &&
        e.ts >= series[0]!.t &&
        e.ts >= widened.startsAt &&
        widened.filters.districts.includes(e.district),
    ).length;
    expect(inSeries).toBe(recent);
  });
});
