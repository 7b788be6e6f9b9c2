import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@livetally/logging';
import { startOpsServer } from './http';

describe('ops server', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function start(registry = new Registry()): Promise<string> {
    const logger = createLogger({ service: 'ingest-test', level: 'silent' });
    server = await startOpsServer({ host: '127.0.0.1', port: 0, registry, isReady: () => true, logger });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('answers unknown paths with the shared error body', async () => {
    const res = await fetch(`${await start()}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('/readyz') } });
  });

  it('answers a failed metrics collection as INTERNAL without its cause', async () => {
    const registry = new Registry();
    registry.metrics = () => Promise.reject(new Error('secret detail'));
    const res = await fetch(`${await start(registry)}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error.' } });
  });
});
