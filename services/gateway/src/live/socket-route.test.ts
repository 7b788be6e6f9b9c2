import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '@livetally/logging';
import { TestSockets, until } from '../testing/live-sockets';
import { buildApp, type GatewayDeps } from '../app';
import { MemoryTotals } from '../testing/fakes';
import { LiveHub } from './hub';

type Frame = { type: string; channel?: string; seq?: number; data?: Record<string, number> };

let app: FastifyInstance | undefined;
const sockets = new TestSockets<Frame>();
const open = sockets.open.bind(sockets);
afterEach(async () => {
  sockets.closeAll();
  await app?.close();
  app = undefined;
});

/** A listening gateway over real TCP sockets (injectWS has none, so it never takes the finished-frame path). */
async function listen(live: GatewayDeps['live'] = {}) {
  const totals = new MemoryTotals().add('all', { views: 1 });
  const hub = new LiveHub({ reader: totals, tickMs: 1000, maxSubscriptionsPerClient: 5 });
  app = await buildApp({
    totals,
    hub,
    isReady: () => true,
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    live,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/live`, totals, hub };
}

describe('/v1/live over TCP', () => {
  it('delivers snapshot, updates and answers in order to every subscriber', async () => {
    const { url, totals, hub } = await listen();
    const clients = await Promise.all([open(url), open(url), open(url)]);
    for (const { ws } of clients) ws.send('{"type":"subscribe","channel":"totals:all"}');
    await until(() => (clients.every((c) => c.frames.length === 1) ? true : undefined));
    for (let i = 0; i < 3; i++) {
      totals.add('all', { views: 1 });
      hub.markChanged(['all']);
      await hub.tick();
    }
    clients[0]!.ws.send('{"type":"ping"}');
    await until(() => (clients.every((c, i) => c.frames.length === (i === 0 ? 5 : 4)) ? true : undefined));
    for (const { frames } of clients) {
      expect(frames.slice(0, 4).map((f) => [f.type, f.seq, f.data?.views])).toEqual([
        ['snapshot', 1, 1],
        ['update', 2, 2],
        ['update', 3, 3],
        ['update', 4, 4],
      ]);
    }
    expect(clients[0]!.frames[4]).toMatchObject({ type: 'pong' });
  });

  it('terminates a socket that stops answering pings and keeps one that answers', async () => {
    const { url } = await listen({ heartbeatMs: 200 });
    const silent = await open(url, { autoPong: false });
    const answering = await open(url);
    expect(await Promise.race([silent.closed, new Promise((r) => setTimeout(() => r('still open'), 2000))])).toBe(1006);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
  });
});
