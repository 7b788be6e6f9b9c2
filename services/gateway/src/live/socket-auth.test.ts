import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestSockets, until } from '../testing/live-sockets';
import { mintToken, type TokenKey } from '../auth/token';
import { makeApiApp } from '../testing/api-fakes';
import type { GatewayDeps } from '../app';

const KEY: TokenKey = { kid: 'k1', secret: 'unit-test-secret-that-is-long-enough' };
const READER = mintToken(
  { sub: 'screen', role: 'reader', scopes: ['campaign:ecm-2024'], ttlSeconds: 600, now: Date.now() },
  KEY,
);
type Frame = { type: string; code?: string; channel?: string };

let app: FastifyInstance | undefined;
const sockets = new TestSockets<Frame>();
const open = sockets.open.bind(sockets);
afterEach(async () => {
  sockets.closeAll();
  await app?.close();
  app = undefined;
});

async function listen(deps: Partial<GatewayDeps> = {}): Promise<string> {
  app = await makeApiApp({ auth: { keys: [KEY], clockSkewSeconds: 0, metricsPublic: false }, ...deps });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return `ws://127.0.0.1:${port}/v1/live`;
}

describe('/v1/live access control', () => {
  it('refuses the upgrade without a valid token, before the socket opens', async () => {
    const url = await listen();
    await expect(open(url)).rejects.toThrow('status 401');
    await expect(open(`${url}?token=${READER}x`)).rejects.toThrow('status 401');
  });

  it('takes the token from ?token= or a bearer. subprotocol, echoing only the other protocol', async () => {
    const url = await listen();
    expect((await open(`${url}?token=${READER}`)).ws.readyState).toBe(WebSocket.OPEN);
    const { ws } = await open(url, { protocols: ['livetally', `bearer.${READER}`] });
    expect(ws.protocol).toBe('livetally');
  });

  it('answers subscriptions outside the token scopes with FORBIDDEN and subscribes nothing', async () => {
    const url = await listen();
    const { ws, frames } = await open(`${url}?token=${READER}`);
    for (const channel of [
      'totals:all',
      'windows:district:Luohu',
      'rankings:all:city:gmv',
      'totals:campaign:ecm-2024',
      'rankings:campaign:ecm-2024:district:gmv',
    ])
      ws.send(JSON.stringify({ type: 'subscribe', channel }));
    await until(() => (frames.length >= 5 ? true : undefined));
    expect(frames.filter((f) => f.code === 'FORBIDDEN').map((f) => f.channel)).toEqual([
      'totals:all',
      'windows:district:Luohu',
      'rankings:all:city:gmv',
    ]);
    expect(frames.find((f) => f.type === 'snapshot')).toMatchObject({ channel: 'totals:campaign:ecm-2024' });
    expect(
      frames.filter((f) => f.channel === 'rankings:campaign:ecm-2024:district:gmv').map((f) => f.code),
    ).not.toContain('FORBIDDEN');
  });

  it('refuses foreign origins with 403 and accepts its own and listed ones', async () => {
    const url = await listen({ limits: { allowedOrigins: ['https://ops.example.com'] } });
    const host = new URL(url).host;
    await expect(open(`${url}?token=${READER}`, { headers: { origin: 'https://evil.example' } })).rejects.toThrow(
      'status 403',
    );
    await open(`${url}?token=${READER}`, { headers: { origin: `http://${host}` } });
    await open(`${url}?token=${READER}`, { headers: { origin: 'https://ops.example.com' } });
  });

  it('caps connections per address and in total', async () => {
    const url = await listen({ limits: { maxConnections: 3, maxConnectionsPerIp: 2 } });
    const a = await open(`${url}?token=${READER}`);
    await open(`${url}?token=${READER}`);
    await expect(open(`${url}?token=${READER}`)).rejects.toThrow('status 429');
    a.ws.close();
    await a.closed;
    await new Promise((r) => setTimeout(r, 100));
    await open(`${url}?token=${READER}`);
    // Refused upgrades and failed logins hold no slot.
    await expect(open(url)).rejects.toThrow('status 401');
    await expect(open(`${url}?token=${READER}`)).rejects.toThrow('status 429');
    await app!.close();
    const single = await listen({ limits: { maxConnections: 1, maxConnectionsPerIp: 5 } });
    await open(`${single}?token=${READER}`);
    await expect(open(`${single}?token=${READER}`)).rejects.toThrow('status 503');
  });

  it('drops frames over the rate with RATE_LIMITED and closes a persistent flood with 1008', async () => {
    const url = await listen({ live: { frameRate: { perSecond: 5, burst: 5 } } });
    const { ws, frames, closed } = await open(`${url}?token=${READER}`);
    for (let i = 0; i < 30; i++) ws.send('{"type":"ping"}');
    expect(await closed).toBe(1008);
    expect(frames.filter((f) => f.type === 'pong')).toHaveLength(5);
    expect(frames.filter((f) => f.code === 'RATE_LIMITED')).toHaveLength(5);
  });

  it('closes a connection with 1008 once its token expires', async () => {
    const url = await listen({ live: { heartbeatMs: 100 } });
    const shortLived = mintToken({ sub: 'screen', role: 'reader', scopes: ['*'], ttlSeconds: 1, now: Date.now() }, KEY);
    const { closed } = await open(`${url}?token=${shortLived}`);
    expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 3000))])).toBe(1008);
  });
});
