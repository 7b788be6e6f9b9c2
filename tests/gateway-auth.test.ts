import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../services/simulator/src/dataset';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';
import { AUTH_ENV, KEYS, liveUrl, openLive, token } from './support/gateway-auth';

/**
 * Access control on the real stack (GATEWAY_AUTH=on, gateway in-process on a free port,
 * real Redis and ClickHouse, requests over real HTTP and WebSocket): readers see only
 * their scopes, admins change campaigns, engineers run read-only SQL, and expired or
 * forged tokens are refused before anything else happens.
 */
const START = Date.parse('2024-08-23T00:00:00+08:00');
const events: LiveEvent[] = buildDataset({ seed: 7, count: 2_000, startTs: START, spanMs: 3_600_000, hosts: 20 }).map(
  (m) => m.event!,
);
const CAMPAIGN = {
  id: 'ecm-2024',
  name: 'E-commerce Month',
  startsAt: '2024-08-23T00:00:00+08:00',
  endsAt: '2024-11-01T00:00:00+08:00',
  filters: { cities: ['Shenzhen'] },
};

let fx: HistoryFixture;
let base: string;
const READER = token('reader', ['campaign:ecm-2024']);
const ADMIN = token('admin', ['campaign:*']);
const ENGINEER = token('engineer', ['*']);

type Answer = {
  status: number;
  body: { error?: { code: string; message: string }; [k: string]: unknown };
  headers: Headers;
};
async function call(method: string, path: string, bearer?: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : { text }, headers: res.headers };
}

beforeAll(async () => {
  fx = await startHistoryGateway('gwauth', events, { ...AUTH_ENV, SQL_MAX_ROWS: '1000' });
  base = fx.gateway.url;
});

afterAll(async () => {
  await fx?.close();
});

describe('gateway access control on the real stack', () => {
  it('keeps probes and the page open and refuses the API without a token', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
    const page = await call('GET', `/?campaign=ecm-2024&token=${READER}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const refused = await call('GET', '/v1/totals/all');
    expect([refused.status, refused.body.error?.code, refused.headers.get('www-authenticate')]).toEqual([
      401,
      'UNAUTHORIZED',
      'Bearer realm="livetally"',
    ]);
    for (const h of ['x-content-type-options', 'referrer-policy', 'x-frame-options'])
      expect(refused.headers.get(h), h).toBeTruthy();
  });

  it('refuses expired and forged tokens: 401 on REST, the upgrade on WebSocket', async () => {
    const expired = token('reader', ['*'], { ttlSeconds: 60, now: Date.now() - 3_600_000 });
    const forged = token('engineer', ['*'], { key: { kid: 'k1', secret: 'a-secret-the-gateway-does-not-know!!' } });
    const unknownKid = token('reader', ['*'], { key: { kid: 'k9', secret: KEYS[0]!.secret } });
    const [head, sig] = READER.split('.') as [string, string];
    const widened =
      Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(head, 'base64url').toString()), scopes: ['*'] })).toString(
        'base64url',
      ) +
      '.' +
      sig;
    for (const [what, t] of [
      ['expired', expired],
      ['forged', forged],
      ['unknown kid', unknownKid],
      ['altered', widened],
      ['malformed', 'not-a-token'],
    ] as const) {
      const res = await call('GET', '/v1/totals/campaign:ecm-2024', t);
      expect([res.status, res.body.error?.code], what).toEqual([401, 'UNAUTHORIZED']);
      await expect(openLive(liveUrl(base, `?token=${encodeURIComponent(t)}`)), what).rejects.toMatchObject({
        status: 401,
      });
    }
    expect((await call('GET', '/v1/totals/all', expired)).body.error?.message).toBe('the token has expired');
    await expect(openLive(liveUrl(base))).rejects.toMatchObject({ status: 401 });
  });

  it('lets an admin create a campaign and refuses readers 403', async () => {
    const byReader = await call('POST', '/v1/campaigns', READER, CAMPAIGN);
    expect([byReader.status, byReader.body.error?.code]).toEqual([403, 'FORBIDDEN']);
    const created = await call('POST', '/v1/campaigns', ADMIN, CAMPAIGN);
    expect([created.status, created.body.id]).toEqual([201, 'ecm-2024']);
    expect((await call('POST', '/v1/campaigns', ADMIN, { ...CAMPAIGN, id: 'other' })).status).toBe(201);
    expect((await call('PUT', '/v1/campaigns/ecm-2024', READER, CAMPAIGN)).status).toBe(403);
    expect((await call('POST', '/v1/campaigns/other/end', READER)).status).toBe(403);
    // The reader sees its campaign, its history and its live totals, and nothing else.
    expect((await call('GET', '/v1/campaigns/ecm-2024', READER)).status).toBe(200);
    expect((await call('GET', '/v1/campaigns/ecm-2024/history?granularity=day', READER)).status).toBe(200);
    expect((await call('GET', '/v1/campaigns', READER)).body.campaigns).toEqual([
      expect.objectContaining({ id: 'ecm-2024' }),
    ]);
    expect((await call('GET', '/v1/totals/campaign:ecm-2024', READER)).status).toBe(200);
    for (const path of [
      '/v1/campaigns/other',
      '/v1/totals/all',
      '/v1/totals/district:Luohu',
      '/v1/history/totals?from=2024-08-23T00:00:00%2B08:00&to=2024-08-23T01:00:00%2B08:00',
    ]) {
      const res = await call('GET', path, READER);
      expect([res.status, res.body.error?.code], path).toEqual([403, 'FORBIDDEN']);
    }
    const views = events.filter((e) => e.type === 'view' && e.ts >= START && e.ts < START + 7_200_000).length;
    expect(
      (
        await call(
          'GET',
          '/v1/history/totals?from=2024-08-23T00:00:00%2B08:00&to=2024-08-23T02:00:00%2B08:00',
          ENGINEER,
        )
      ).body,
    ).toMatchObject({ totals: { views } });
  });

  it('answers live subscriptions outside the reader scopes with FORBIDDEN and no data', async () => {
    for (const [how, open] of [
      ['query', () => openLive(liveUrl(base, `?token=${READER}`))],
      ['subprotocol', () => openLive(liveUrl(base), { protocols: ['livetally', `bearer.${READER}`] })],
    ] as const) {
      const live = await open();
      if (how === 'subprotocol') expect(live.ws.protocol).toBe('livetally');
      for (const channel of [
        'totals:all',
        'rankings:all:city:gmv',
        'series:district:Futian',
        'totals:campaign:ecm-2024',
        'rankings:campaign:ecm-2024:district:gmv',
      ]) {
        live.ws.send(JSON.stringify({ type: 'subscribe', channel }));
      }
      await live.waitFor(
        (f) => f.type === 'snapshot' && f.channel === 'totals:campaign:ecm-2024',
        'the campaign snapshot',
      );
      await live.waitFor(
        (f) => f.channel === 'rankings:campaign:ecm-2024:district:gmv',
        'an answer for the campaign ranking',
      );
      expect(
        live.frames
          .filter((f) => f.code === 'FORBIDDEN')
          .map((f) => f.channel)
          .sort(),
        how,
      ).toEqual(['rankings:all:city:gmv', 'series:district:Futian', 'totals:all']);
      expect(
        live.frames.filter((f) => f.type === 'snapshot' || f.type === 'update').map((f) => f.channel),
      ).not.toContain('totals:all');
      live.ws.close();
    }
  });

  it('runs SQL for engineers only, still read-only and within limits', async () => {
    const byReader = await call('POST', '/v1/sql', READER, { query: 'SELECT 1' });
    expect([byReader.status, byReader.body.error?.code]).toEqual([403, 'FORBIDDEN']);
    expect((await call('POST', '/v1/sql', ADMIN, { query: 'SELECT 1' })).status).toBe(403);
    // Runs as the stack's read-only account (CLICKHOUSE_SQL_USER of stack.env: readonly=2 on the stand-in).
    const ok = await call('POST', '/v1/sql', ENGINEER, { query: 'SELECT count() AS n FROM lt_events' });
    expect([ok.status, ok.body.data]).toEqual([200, [{ n: String(events.length) }]]);
    for (const query of ['DROP TABLE lt_events', "INSERT INTO lt_events (event_id) VALUES ('x')"]) {
      const res = await call('POST', '/v1/sql', ENGINEER, { query });
      expect([res.status, res.body.error?.code], query).toEqual([400, 'READ_ONLY']);
    }
    // ClickHouse's own parser refuses a second statement before any rule is applied.
    const two = await call('POST', '/v1/sql', ENGINEER, { query: 'SELECT 1; DROP TABLE lt_events' });
    expect([two.status, two.body.error?.code, two.body.error?.message]).toEqual([
      400,
      'SQL_ERROR',
      expect.stringContaining('Multi-statements are not allowed'),
    ]);
    const many = await call('POST', '/v1/sql', ENGINEER, { query: 'SELECT number FROM system.numbers LIMIT 5000' });
    expect([many.status, many.body.error?.code]).toEqual([400, 'SQL_LIMIT']);
    expect(
      (await call('POST', '/v1/sql', ENGINEER, { query: 'SELECT count() AS n FROM lt_events' })).body.data,
    ).toEqual([{ n: String(events.length) }]);
  });

  it('keeps /metrics behind a role and counts the refusals', async () => {
    expect((await call('GET', '/metrics')).status).toBe(401);
    expect((await call('GET', '/metrics', READER)).status).toBe(403);
    const metrics = await call('GET', '/metrics', ENGINEER);
    expect(metrics.status).toBe(200);
    for (const reason of ['missing', 'expired', 'bad_signature', 'unknown_key', 'forbidden'])
      expect(metrics.body.text).toMatch(
        new RegExp(`livetally_gateway_access_refused_total\\{reason="${reason}"\\} [1-9]`),
      );
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
