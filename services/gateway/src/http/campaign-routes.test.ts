import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHistory, makeApiApp, measures, memoryCampaigns } from '../testing/api-fakes';

const START = Date.parse('2024-08-23T00:00:00+08:00');
const END = Date.parse('2024-11-01T00:00:00+08:00');
const DAY = 86_400_000;
const input = {
  id: 'ecm-2024',
  name: 'Livestreaming E-commerce Month',
  startsAt: '2024-08-23T00:00:00+08:00',
  endsAt: '2024-11-01T00:00:00+08:00',
  filters: { cities: ['Shenzhen'] },
  targets: { gmvFen: 4_080_000_000_000, views: 1000 },
};
let app: FastifyInstance | undefined;

async function setup(now = START + 7 * DAY) {
  const clock = { now };
  const history = new FakeHistory();
  const campaigns = memoryCampaigns(() => clock.now);
  app = await makeApiApp({ history, campaigns: campaigns.service, now: () => clock.now });
  return { app, history, clock, ...campaigns };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('/v1/campaigns', () => {
  it('creates, lists, replaces and ends a campaign', async () => {
    const { app, service, backfilled } = await setup();
    const created = await app.inject({ method: 'POST', url: '/v1/campaigns', payload: input });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      id: 'ecm-2024',
      startsAt: START,
      endsAt: END,
      timeZone: 'Asia/Shanghai',
      status: 'active',
      version: 1,
      filters: { cities: ['Shenzhen'] },
    });
    expect((await app.inject('/v1/campaigns')).json()).toEqual({ campaigns: [created.json()] });
    const replaced = await app.inject({
      method: 'PUT',
      url: '/v1/campaigns/ecm-2024',
      payload: { ...input, name: 'ECM', filters: { districts: ['Luohu'] } },
    });
    expect(replaced.json()).toMatchObject({ name: 'ECM', version: 2, filters: { districts: ['Luohu'] } });
    const ended = await app.inject({ method: 'POST', url: '/v1/campaigns/ecm-2024/end' });
    expect(ended.json()).toMatchObject({ status: 'ended', version: 3, endsAt: START + 7 * DAY });
    await service.idle();
    expect(backfilled).toEqual(['ecm-2024@1', 'ecm-2024@2', 'ecm-2024@3']);
  });

  it('refuses duplicates, unknown ids and invalid bodies with their codes', async () => {
    const { app } = await setup();
    await app.inject({ method: 'POST', url: '/v1/campaigns', payload: input });
    const dup = await app.inject({ method: 'POST', url: '/v1/campaigns', payload: input });
    expect([dup.statusCode, dup.json().error.code]).toEqual([409, 'CONFLICT']);
    for (const req of [
      { method: 'GET', url: '/v1/campaigns/nope' },
      { method: 'PUT', url: '/v1/campaigns/nope', payload: input },
      { method: 'POST', url: '/v1/campaigns/nope/end' },
    ] as const) {
      const res = await app.inject(req);
      expect([res.statusCode, res.json().error.code]).toEqual([404, 'NOT_FOUND']);
    }
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      payload: { id: 'Bad Id', name: '', startsAt: '2024-08-23T00:00:00', endsAt: 'soon', targets: { gmvFen: '100' } },
    });
    expect(bad.statusCode).toBe(400);
    const error = bad.json().error;
    expect(error.code).toBe('INVALID_CAMPAIGN');
    expect(error.details.map((d: { field: string }) => d.field)).toEqual([
      'id',
      'name',
      'startsAt',
      'endsAt',
      'targets.gmvFen',
    ]); // no type coercion of the body
    expect(error.message).toContain('id, name, startsAt');
    const notJson = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      payload: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect([notJson.statusCode, notJson.json().error.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('shows a campaign with its history totals over the window and its pace', async () => {
    const { app, history } = await setup(START + 35 * DAY); // half of the 70-day window
    await app.inject({ method: 'POST', url: '/v1/campaigns', payload: input });
    history.totalsValue = measures({ salesFen: 2_448_000_000_000, views: 100 });
    const res = await app.inject('/v1/campaigns/ecm-2024');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.campaign).toMatchObject({ id: 'ecm-2024', version: 1 });
    expect(body.history).toEqual(history.totalsValue);
    expect(body.pace).toEqual({
      asOf: START + 35 * DAY,
      elapsedShare: 0.5,
      targets: {
        gmvFen: {
          measure: 'salesFen',
          target: 4_080_000_000_000,
          actual: 2_448_000_000_000,
          doneShare: 0.6,
          expectedByNow: 2_040_000_000_000,
          status: 'ahead',
        },
        views: { measure: 'views', target: 1000, actual: 100, doneShare: 0.1, expectedByNow: 500, status: 'behind' },
      },
    });
    expect(history.calls).toEqual([
      { method: 'totals', args: [{ kind: 'filters', cities: ['Shenzhen'] }, START, END] },
    ]);
  });

  it('answers the series in the campaign zone and rankings within its filters', async () => {
    const { app, history } = await setup();
    await app.inject({ method: 'POST', url: '/v1/campaigns', payload: { ...input, timeZone: 'Europe/Berlin' } });
    const days = await app.inject('/v1/campaigns/ecm-2024/history');
    expect(days.json()).toMatchObject({
      id: 'ecm-2024',
      granularity: 'day',
      tz: 'Europe/Berlin',
      buckets: [{ bucket: '2024-08-23T00:00:00' }],
    });
    const tooLong = await app.inject('/v1/campaigns/ecm-2024/history?granularity=minute');
    expect([tooLong.statusCode, tooLong.json().error.code]).toEqual([400, 'INVALID_RANGE']);
    expect(tooLong.json().error.message).toContain('narrow it with from/to');
    const narrowed = await app.inject(
      `/v1/campaigns/ecm-2024/history?granularity=minute&from=${START - DAY}&to=${START + DAY}`,
    );
    expect(narrowed.statusCode).toBe(200);
    const outside = await app.inject(`/v1/campaigns/ecm-2024/history?from=${END}&to=${END + DAY}`);
    expect(outside.json().error.message).toContain('do not overlap');
    const top = await app.inject('/v1/campaigns/ecm-2024/rankings?dimension=district&measure=views&limit=5');
    expect(top.json()).toMatchObject({
      id: 'ecm-2024',
      dimension: 'district',
      measure: 'views',
      items: [{ rank: 1, name: 'h-1' }, { rank: 2 }],
    });
    const subject = { kind: 'filters', cities: ['Shenzhen'] };
    expect(history.calls.map((c) => c.args)).toEqual([
      [subject, START, END, 'day', 'Europe/Berlin'],
      [subject, START, START + DAY, 'minute', 'Europe/Berlin'],
      ['district', 'views', START, END, 5, subject],
    ]);
    const badDim = await app.inject('/v1/campaigns/ecm-2024/rankings?dimension=planet');
    expect([badDim.statusCode, badDim.json().error.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('answers 503 UNAVAILABLE when the store fails', async () => {
    const { app, service } = await setup();
    service.list = async () => {
      throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
    };
    const res = await app.inject('/v1/campaigns');
    expect([res.statusCode, res.json().error.code]).toEqual([503, 'UNAVAILABLE']);
  });
});
