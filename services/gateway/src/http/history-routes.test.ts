import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHistory, makeApiApp } from '../testing/api-fakes';

const FROM = '2024-08-23T00:00:00+08:00';
const T = Date.parse(FROM);
const DAY = 86_400_000;
let app: FastifyInstance | undefined;

async function setup() {
  const history = new FakeHistory();
  app = await makeApiApp({ history });
  return { app, history };
}
const q = (params: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('/v1/history', () => {
  it('answers totals for a scope and range', async () => {
    const { app, history } = await setup();
    const res = await app.inject(`/v1/history/totals?${q({ scope: "district:Bao'an", from: FROM, to: T + DAY })}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      scope: "district:Bao'an",
      from: '2024-08-22T16:00:00.000Z',
      to: '2024-08-23T16:00:00.000Z',
      totals: history.totalsValue,
    });
    expect(history.calls).toEqual([{ method: 'totals', args: [{ kind: 'district', value: "Bao'an" }, T, T + DAY] }]);
  });

  it('answers a series in the requested zone, defaulting to Asia/Shanghai', async () => {
    const { app, history } = await setup();
    const res = await app.inject(`/v1/history/series?${q({ from: FROM, to: T + DAY, granularity: 'hour' })}`);
    expect(res.json()).toMatchObject({
      scope: 'all',
      granularity: 'hour',
      tz: 'Asia/Shanghai',
      buckets: [{ bucket: '2024-08-23T00:00:00', views: 10 }],
    });
    await app.inject(`/v1/history/series?${q({ from: FROM, to: T + DAY, granularity: 'day', tz: 'Europe/Berlin' })}`);
    expect(history.calls.map((c) => c.args.slice(3))).toEqual([
      ['hour', 'Asia/Shanghai'],
      ['day', 'Europe/Berlin'],
    ]);
  });

  it('answers top-N with ranks and a member rank', async () => {
    const { app, history } = await setup();
    const top = await app.inject(
      `/v1/history/top?${q({ dimension: 'host', from: FROM, to: T + DAY, limit: 2, scope: 'category:jewellery' })}`,
    );
    expect(top.json()).toMatchObject({
      dimension: 'host',
      measure: 'gmv',
      items: [
        { rank: 1, name: 'h-1', value: 900 },
        { rank: 2, name: 'h-2', value: 400 },
      ],
    });
    expect(history.calls[0]!.args).toEqual(['host', 'gmv', T, T + DAY, 2, { kind: 'category', value: 'jewellery' }]);
    const rank = await app.inject(
      `/v1/history/rank?${q({ dimension: 'city', name: 'Shenzhen', measure: 'views', from: FROM, to: T + DAY })}`,
    );
    expect(rank.json()).toMatchObject({
      dimension: 'city',
      name: 'Shenzhen',
      measure: 'views',
      rank: 2,
      of: 7,
      value: 400,
    });
    history.rankValue = null;
    const absent = await app.inject(
      `/v1/history/rank?${q({ dimension: 'city', name: 'Atlantis', from: FROM, to: T + DAY })}`,
    );
    expect(absent.json()).toMatchObject({ rank: null, of: null, value: 0 });
  });

  it.each([
    [`/v1/history/totals?${q({ from: FROM })}`, 'BAD_REQUEST', 'querystring.to is required'],
    [`/v1/history/totals?${q({ from: '2024-08-23', to: T + DAY })}`, 'INVALID_RANGE', 'zone offset'],
    [`/v1/history/totals?${q({ from: T + DAY, to: FROM })}`, 'INVALID_RANGE', 'after from'],
    [`/v1/history/totals?${q({ scope: 'stream:s-1', from: FROM, to: T + DAY })}`, 'INVALID_SCOPE', 'lt_events'],
    [
      `/v1/history/totals?${q({ scope: 'planet:Mars', from: FROM, to: T + DAY })}`,
      'INVALID_SCOPE',
      'unknown scope kind',
    ],
    [
      `/v1/history/series?${q({ from: FROM, to: T + 8 * DAY, granularity: 'minute' })}`,
      'INVALID_RANGE',
      'at most 7 days',
    ],
    [
      `/v1/history/series?${q({ from: FROM, to: T + 401 * DAY, granularity: 'hour' })}`,
      'INVALID_RANGE',
      'at most 400 days',
    ],
    [
      `/v1/history/series?${q({ from: FROM, to: T + DAY, granularity: 'week' })}`,
      'BAD_REQUEST',
      'must be one of minute, hour, day',
    ],
    [
      `/v1/history/series?${q({ from: FROM, to: T + DAY, granularity: 'day', tz: 'Mars/Olympus' })}`,
      'BAD_REQUEST',
      'IANA',
    ],
    [
      `/v1/history/top?${q({ dimension: 'host', from: FROM, to: T + DAY, limit: 101 })}`,
      'BAD_REQUEST',
      'must be <= 100',
    ],
    [
      `/v1/history/top?${q({ dimension: 'stream', from: FROM, to: T + DAY })}`,
      'BAD_REQUEST',
      'host, district, category, platform, city',
    ],
    [
      `/v1/history/top?${q({ dimension: 'host', measure: 'refunds', from: FROM, to: T + DAY })}`,
      'BAD_REQUEST',
      'gmv, views, sessions',
    ],
    [`/v1/history/rank?${q({ dimension: 'city', from: FROM, to: T + DAY })}`, 'BAD_REQUEST', 'name is required'],
  ])('%s → 400 %s', async (url, code, hint) => {
    const { app, history } = await setup();
    const res = await app.inject(url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code, message: expect.stringContaining(hint) } });
    expect(history.calls).toEqual([]);
  });

  it('answers 503 UNAVAILABLE when ClickHouse fails or history is not configured', async () => {
    const { app, history } = await setup();
    history.fail = new Error('connect ECONNREFUSED');
    const res = await app.inject(`/v1/history/totals?${q({ from: FROM, to: T + DAY })}`);
    expect([res.statusCode, res.json().error.code]).toEqual([503, 'UNAVAILABLE']);
    expect(res.body).not.toContain('ECONNREFUSED');
    const bare = await makeApiApp();
    const none = await bare.inject(`/v1/history/totals?${q({ from: FROM, to: T + DAY })}`);
    expect([none.statusCode, none.json().error.message]).toEqual([503, 'history is not configured on this gateway']);
    await bare.close();
  });
});
