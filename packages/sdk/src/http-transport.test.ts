import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { HttpTransport } from './http-transport';

const event = (i: number) =>
  ({
    v: 1,
    type: 'view',
    eventId: `e-${i}`,
    platform: 'douyin',
    streamId: 's',
    hostId: 'h',
    ts: 1,
    city: 'c',
    district: 'd',
    category: 'k',
    viewerId: `v-${i}`,
  }) as LiveEvent;

function transport(answer: () => Response | Promise<Response>, options: { gzipAboveBytes?: number | false } = {}) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    requests.push({ url, init });
    return answer();
  }) as unknown as typeof fetch;
  return {
    t: new HttpTransport({
      url: 'http://collector.test/',
      apiKey: 'secret-key-0123456789',
      fetch: fetchImpl,
      ...options,
    }),
    requests,
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('HttpTransport', () => {
  it('posts the batch with the key as a Bearer token and returns per-event results', async () => {
    const { t, requests } = transport(() =>
      json(207, {
        accepted: 1,
        duplicates: 0,
        rejected: 1,
        results: [
          { index: 0, status: 'accepted' },
          { index: 1, status: 'rejected', errors: [] },
        ],
      }),
    );
    const r = await t.sendBatch([event(1), event(2)]);
    expect(r).toEqual({
      kind: 'results',
      results: [
        { index: 0, status: 'accepted' },
        { index: 1, status: 'rejected', errors: [] },
      ],
    });
    expect(requests[0]!.url).toBe('http://collector.test/v1/events');
    expect(requests[0]!.init.headers).toMatchObject({
      authorization: 'Bearer secret-key-0123456789',
      'content-type': 'application/json',
    });
    expect(requests[0]!.init.headers).not.toHaveProperty('content-encoding'); // small bodies stay plain
  });

  it('gzips bodies above the threshold', async () => {
    const { t, requests } = transport(
      () => json(200, { results: Array.from({ length: 20 }, () => ({ status: 'accepted' })) }),
      { gzipAboveBytes: 100 },
    );
    await t.sendBatch(Array.from({ length: 20 }, (_, i) => event(i)));
    expect(requests[0]!.init.headers).toMatchObject({ 'content-encoding': 'gzip' });
    expect(JSON.parse(gunzipSync(requests[0]!.init.body as Buffer).toString()).events).toHaveLength(20);
  });

  it.each([
    [429, { 'retry-after': '2' }, 2_000],
    [503, { 'retry-after': '5' }, 5_000],
    [502, {}, undefined],
  ])('retries %i, honouring Retry-After', async (status, headers, retryAfterMs) => {
    const { t } = transport(() => json(status, { error: { code: 'X', message: 'm' } }, headers));
    expect(await t.sendBatch([event(1)])).toEqual({ kind: 'retry', reason: `HTTP ${status} X: m`, retryAfterMs });
  });

  it('retries network errors and unreadable success answers', async () => {
    expect(
      await transport(() =>
        Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } })),
      ).t.sendBatch([event(1)]),
    ).toEqual({ kind: 'retry', reason: 'network error: ECONNRESET' });
    expect((await transport(() => new Response('garbage', { status: 200 })).t.sendBatch([event(1)])).kind).toBe(
      'retry',
    );
  });

  it('does not retry other refusals', async () => {
    const { t } = transport(() => json(401, { error: { code: 'UNAUTHORIZED', message: 'The API key is not valid.' } }));
    expect(await t.sendBatch([event(1)])).toEqual({
      kind: 'fatal',
      status: 401,
      code: 'UNAUTHORIZED',
      reason: 'HTTP 401 UNAUTHORIZED: The API key is not valid.',
    });
  });
});
