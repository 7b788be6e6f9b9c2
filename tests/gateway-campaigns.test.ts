import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { CampaignStore, campaignKeys, matchesCampaign, type Campaign } from '@livetally/campaigns';
import { buildDataset } from '../services/simulator/src/dataset';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';
import { STACK } from './support/stack';

/**
 * Campaign REST through inject() on a gateway with real Redis and ClickHouse: the
 * definitions survive (ClickHouse record + Redis working copy) and every figure equals
 * an independent computation over the campaign's filters and window.
 */
const START = Date.parse('2024-08-23T00:00:00+08:00');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const events: LiveEvent[] = buildDataset({
  seed: 31,
  count: 15_000,
  startTs: START - DAY,
  spanMs: 4 * DAY,
  hosts: 120,
}).map((m) => m.event!);
const input = {
  id: 'ecm-2024',
  name: 'Livestreaming E-commerce Month',
  startsAt: '2024-08-23T00:00:00+08:00',
  endsAt: '2024-08-25T00:00:00+08:00',
  filters: { districts: ['Luohu', 'Futian', 'Nanshan'], categories: ['jewellery', 'clothing', 'beauty'] },
  targets: { gmvFen: 50_000_000, views: 1_000_000 },
};

let fx: HistoryFixture;
let app: FastifyInstance;
let redis: Redis;

const gmv = (e: LiveEvent) => (e.type === 'sale' ? e.amountFen : 0);
const sum = (list: LiveEvent[], f: (e: LiveEvent) => number) => list.reduce((s, e) => s + f(e), 0);
const of = (c: Campaign) => events.filter((e) => matchesCampaign(c, e));

beforeAll(async () => {
  fx = await startHistoryGateway('gwcamp', events);
  app = fx.gateway.app;
  redis = new Redis(STACK.redisUrl, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await fx?.close();
});

describe('campaign REST on the real stack', () => {
  it('creates, lists, refuses duplicates and bad input, replaces and ends', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/campaigns', payload: input });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      id: 'ecm-2024',
      version: 1,
      status: 'active',
      startsAt: START,
      endsAt: START + 2 * DAY,
    });
    expect((await app.inject({ method: 'POST', url: '/v1/campaigns', payload: input })).statusCode).toBe(409);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      payload: { ...input, id: 'other', startsAt: '2024-08-23T00:00:30+08:00', filters: { planets: ['Mars'] } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.map((d: { field: string }) => d.field)).toEqual(['startsAt', 'filters.planets']);
    expect((await app.inject('/v1/campaigns')).json().campaigns.map((c: Campaign) => c.id)).toEqual(['ecm-2024']);

    const replaced = await app.inject({
      method: 'PUT',
      url: '/v1/campaigns/ecm-2024',
      payload: { ...input, name: 'E-commerce Month', targets: { gmvFen: 40_000_000 } },
    });
    expect(replaced.json()).toMatchObject({ name: 'E-commerce Month', version: 2, targets: { gmvFen: 40_000_000 } });
    const other = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      payload: { ...input, id: 'flash', endsAt: '2024-08-23T06:00:00+08:00', filters: {} },
    });
    const ended = await app.inject({ method: 'POST', url: '/v1/campaigns/flash/end' });
    expect([other.statusCode, ended.json().status, ended.json().version]).toEqual([201, 'ended', 2]);
    // A change of name and targets covers the same events, and so does ending after the window: no backfill.
    // The gateway only marks them pending (with the version that changed the coverage): ingest runs backfills.
    expect(await redis.hgetall(campaignKeys(fx.prefix).pending)).toEqual({ 'ecm-2024': '1', flash: '1' });
  });

  it('survives: a new store over the same Redis lists it, and ClickHouse restores a lost Redis copy', async () => {
    const fresh = new CampaignStore(redis, fx.client, fx.prefix);
    expect((await fresh.list()).map((c) => [c.id, c.version])).toEqual([
      ['ecm-2024', 2],
      ['flash', 2],
    ]);
    await redis.del(fresh.keys.catalogue);
    expect((await app.inject('/v1/campaigns/ecm-2024')).statusCode).toBe(404);
    expect(await fresh.restoreFromHistory()).toBe(2);
    const restored = await app.inject('/v1/campaigns/ecm-2024');
    expect(restored.statusCode).toBe(200);
    expect(restored.json().campaign).toMatchObject({
      name: 'E-commerce Month',
      version: 2,
      targets: { gmvFen: 40_000_000 },
    });
  });

  it('answers history totals, pace, series and rankings equal to an independent computation', async () => {
    const res = await app.inject('/v1/campaigns/ecm-2024');
    const { campaign, history, pace } = res.json() as {
      campaign: Campaign;
      history: Record<string, number>;
      pace: { elapsedShare: number; targets: Record<string, { actual: number; status: string }> };
    };
    const mine = of(campaign);
    expect(mine.length).toBeGreaterThan(500);
    const inWindow = events.filter((e) => e.ts >= campaign.startsAt && e.ts < campaign.endsAt).length;
    expect(inWindow).toBeLessThan(events.length * 0.6); // the window and the filters really select
    expect(mine.length).toBeLessThan(inWindow * 0.9);
    const salesFen = sum(mine, gmv);
    expect(history).toMatchObject({
      views: mine.filter((e) => e.type === 'view').length,
      salesFen,
      refundsFen: sum(mine, (e) => (e.type === 'refund' ? e.amountFen : 0)),
      orders: mine.filter((e) => e.type === 'sale').length,
      activeHosts: new Set(mine.map((e) => e.hostId)).size,
    });
    const viewers = new Set(mine.flatMap((e) => (e.type === 'view' ? [e.viewerId] : []))).size;
    expect(Math.abs(history.uniqueViewers! - viewers) / viewers).toBeLessThan(0.03);
    expect(pace.elapsedShare).toBe(1); // the window is in the past
    expect(pace.targets.gmvFen).toMatchObject({ actual: salesFen, status: salesFen >= 40_000_000 ? 'met' : 'missed' });

    const days = await app.inject('/v1/campaigns/ecm-2024/history?granularity=day');
    expect(days.json().buckets.map((b: { bucket: string; salesFen: number }) => [b.bucket, b.salesFen])).toEqual([
      [
        '2024-08-23T00:00:00',
        sum(
          mine.filter((e) => e.ts < START + DAY),
          gmv,
        ),
      ],
      [
        '2024-08-24T00:00:00',
        sum(
          mine.filter((e) => e.ts >= START + DAY),
          gmv,
        ),
      ],
    ]);
    const hours = await app.inject(
      `/v1/campaigns/ecm-2024/history?granularity=hour&from=${START + 5 * HOUR}&to=${START + 7 * HOUR}`,
    );
    expect(hours.json().buckets.map((b: { views: number }) => b.views)).toEqual(
      [5, 6].map(
        (h) =>
          mine.filter((e) => e.type === 'view' && e.ts >= START + h * HOUR && e.ts < START + (h + 1) * HOUR).length,
      ),
    );

    const by = new Map<string, number>();
    for (const e of mine) by.set(e.district, (by.get(e.district) ?? 0) + gmv(e));
    const expected = [...by]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([name, value], i) => ({ rank: i + 1, name, value }));
    const top = await app.inject('/v1/campaigns/ecm-2024/rankings?dimension=district&measure=gmv&limit=10');
    expect(top.json().items).toEqual(expected);
    expect(expected.map((d) => d.name).sort()).toEqual(['Futian', 'Luohu', 'Nanshan']);
  });
});
