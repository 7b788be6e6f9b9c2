import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';
import { AUTH_ENV, liveUrl, openLive, token, type LiveConnection } from './support/gateway-auth';
import { within } from './support/stack';

/**
 * The gateway's hardening on the real stack, with access control on: request bodies,
 * WebSocket frame sizes and rates, Origin and connection caps each get their documented
 * answer, and the gateway keeps serving afterwards.
 */
const CAP_PER_IP = 4;
let fx: HistoryFixture;
let base: string;
const READER = token('reader', ['campaign:ecm-2024', 'all']);
const ADMIN = token('admin', ['*']);
const opened: LiveConnection[] = [];

const open = async (query = `?token=${READER}`, options: Parameters<typeof openLive>[1] = {}) => {
  const live = await openLive(liveUrl(base, query), options);
  opened.push(live);
  return live;
};
async function closeAll(): Promise<void> {
  const list = opened.splice(0);
  for (const l of list) l.ws.close();
  await within(5_000, 'sockets closed', Promise.all(list.map((l) => l.closed)));
  await new Promise((r) => setTimeout(r, 100)); // the server releases slots when the TCP socket closes
}
async function stillServing(): Promise<void> {
  expect((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
  const live = await open();
  live.ws.send('{"type":"subscribe","channel":"totals:all"}');
  await live.waitFor((f) => f.type === 'snapshot' && f.channel === 'totals:all', 'a snapshot on a fresh connection');
  await closeAll();
}

beforeAll(async () => {
  fx = await startHistoryGateway('gwlimits', [], {
    ...AUTH_ENV,
    GATEWAY_ALLOWED_ORIGINS: 'https://ops.example.com',
    WS_MAX_CONNECTIONS_PER_IP: String(CAP_PER_IP),
    WS_FRAME_RATE: '20',
    WS_FRAME_BURST: '40',
  });
  base = fx.gateway.url;
});

afterAll(async () => {
  for (const l of opened) l.ws.terminate();
  await fx?.close();
});

describe('gateway limits on the real stack', () => {
  it('answers bodies over 64 KiB with 413 PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({
      id: 'big',
      name: 'x'.repeat(70 * 1024),
      startsAt: '2024-08-23T00:00:00+08:00',
      endsAt: '2024-08-24T00:00:00+08:00',
    });
    const res = await fetch(`${base}/v1/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    // Without a token the body is never read: 401 first.
    const anonymous = await fetch(`${base}/v1/campaigns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    expect(anonymous.status).toBe(401);
    await stillServing();
  });

  it('answers oversized frames with FRAME_TOO_LARGE and drops absurd ones with 1009', async () => {
    const live = await open();
    live.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(8 * 1024) }));
    expect(await live.waitFor((f) => f.type === 'error', 'an error frame')).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    live.ws.send('{"type":"ping"}');
    await live.waitFor((f) => f.type === 'pong', 'a pong: the connection stays open');
    const huge = await open();
    huge.ws.send('x'.repeat(1024 * 1024));
    expect(await within(5_000, 'close after a 1 MiB frame', huge.closed)).toBe(1009);
    await closeAll();
    await stillServing();
  });

  it('rate-limits frame floods: RATE_LIMITED, then close 1008', async () => {
    const live = await open();
    for (let i = 0; i < 200; i++) live.ws.send('{"type":"ping"}');
    expect(await within(5_000, 'close 1008 after a flood', live.closed)).toBe(1008);
    const pongs = live.frames.filter((f) => f.type === 'pong').length;
    expect(pongs).toBeGreaterThanOrEqual(40);
    expect(pongs).toBeLessThan(60);
    expect(live.frames.filter((f) => f.code === 'RATE_LIMITED').length).toBeGreaterThan(0);
    // A client at the documented rate is never limited.
    const polite = await open();
    for (let i = 0; i < 30; i++) {
      polite.ws.send('{"type":"ping"}');
      await new Promise((r) => setTimeout(r, 60));
    }
    await polite.waitFor(
      (f) => f.type === 'pong' && polite.frames.filter((p) => p.type === 'pong').length === 30,
      '30 pongs',
    );
    expect(polite.frames.filter((f) => f.type === 'error')).toEqual([]);
    await closeAll();
    await stillServing();
  });

  it('refuses WebSocket upgrades from foreign origins with 403 FORBIDDEN_ORIGIN', async () => {
    const host = new URL(base).host;
    await expect(open(`?token=${READER}`, { headers: { origin: 'https://evil.example' } })).rejects.toMatchObject({
      status: 403,
      body: expect.stringContaining('FORBIDDEN_ORIGIN'),
    });
    // Checked before the token: a foreign page learns nothing about tokens.
    await expect(open('', { headers: { origin: 'https://evil.example' } })).rejects.toMatchObject({ status: 403 });
    await open(`?token=${READER}`, { headers: { origin: `http://${host}` } });
    await open(`?token=${READER}`, { headers: { origin: 'https://ops.example.com' } });
    await closeAll();
    await stillServing();
  });

  it('caps live connections per address with 429 TOO_MANY_CONNECTIONS', async () => {
    for (let i = 0; i < CAP_PER_IP; i++) await open();
    await expect(open()).rejects.toMatchObject({ status: 429, body: expect.stringContaining('TOO_MANY_CONNECTIONS') });
    await closeAll();
    await stillServing();
    const metrics = await fetch(`${base}/metrics`, {
      headers: { authorization: `Bearer ${token('engineer', ['*'])}` },
      signal: AbortSignal.timeout(5_000),
    });
    const text = await metrics.text();
    for (const reason of ['rate', 'abusive', 'origin', 'connections_per_ip'])
      expect(text).toMatch(new RegExp(`livetally_gateway_access_refused_total\\{reason="${reason}"\\} [1-9]`));
  });
});
