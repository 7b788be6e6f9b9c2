import { describe, expect, it } from 'vitest';
import { createLiveTallyClient, type ClientTuning } from './client';
import { ManualScheduler, ScriptedTransport, settle } from './testing/manual';
import type { EventInput } from './types';

const T0 = Date.UTC(2025, 7, 23, 12, 0, 0);

function view(i: number, extra: Partial<EventInput> = {}): EventInput {
  return {
    type: 'view',
    streamId: 's-1',
    hostId: 'h-1',
    city: 'Shenzhen',
    district: 'Futian',
    category: 'jewellery',
    viewerId: `v-${i}`,
    ...extra,
  } as EventInput;
}

function setup(tuning: ClientTuning = {}) {
  const clock = new ManualScheduler();
  clock.time = T0;
  const transport = new ScriptedTransport(clock);
  let ids = 0;
  const client = createLiveTallyClient({
    transport,
    platform: 'douyin',
    scheduler: clock,
    random: () => 0.5,
    newEventId: () => `gen-${++ids}`,
    ...tuning,
  });
  return { clock, transport, client };
}

const retry = (retryAfterMs?: number) => () => ({
  kind: 'retry' as const,
  reason: 'HTTP 503 KAFKA_UNAVAILABLE',
  retryAfterMs,
});

describe('batching', () => {
  it('sends a batch when it is full and the rest after the linger time', async () => {
    const { clock, transport, client } = setup({ maxBatchEvents: 3, lingerMs: 40 });
    const outcomes = client.sendMany(Array.from({ length: 7 }, (_, i) => view(i)));
    await settle();
    expect(transport.calls.map((c) => c.events.length)).toEqual([3, 3]);
    await clock.advance(39);
    expect(transport.calls).toHaveLength(2);
    await clock.advance(1);
    expect(transport.calls.map((c) => c.events.length)).toEqual([3, 3, 1]);
    expect((await outcomes).map((o) => o.status)).toEqual(Array(7).fill('accepted'));
  });

  it('cuts batches by bytes too', async () => {
    const oneEvent = JSON.stringify({ v: 1, ...view(1), eventId: 'gen-1', ts: T0, platform: 'douyin' }).length;
    const { transport, client } = setup({ maxBatchEvents: 100, maxBatchBytes: Math.floor(oneEvent * 2.5) });
    const sent = client.sendMany(Array.from({ length: 5 }, (_, i) => view(i)));
    await client.flush();
    expect(transport.calls.map((c) => c.events.length)).toEqual([2, 2, 1]);
    await sent;
  });

  it('stamps eventId, ts, v and the default platform once, keeping the caller’s own eventId', async () => {
    const { transport, client } = setup();
    const sent = Promise.all([client.send(view(1)), client.send(view(2, { eventId: 'mine-2', ts: T0 - 5_000 }))]);
    await client.flush();
    await sent;
    expect(transport.calls[0]!.events).toEqual([
      expect.objectContaining({ v: 1, eventId: 'gen-1', ts: T0, platform: 'douyin', viewerId: 'v-1' }),
      expect.objectContaining({ eventId: 'mine-2', ts: T0 - 5_000 }),
    ]);
  });

  it('sends a like without a count as one like, and one with a count as it is', async () => {
    const { transport, client } = setup();
    const place = { streamId: 's-1', hostId: 'h-1', city: 'Shenzhen', district: 'Futian', category: 'jewellery' };
    const sent = Promise.all([
      client.send({ type: 'like', ...place }),
      client.send({ type: 'like', ...place, count: 18 }),
    ]);
    await client.flush();
    expect((await sent).map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect(transport.calls[0]!.events.map((e) => e.type === 'like' && e.count)).toEqual([1, 18]);
  });

  it("sends a platform's view count without a viewer as it is", async () => {
    const { transport, client } = setup();
    const place = { streamId: 's-1', hostId: 'h-1', city: 'Shenzhen', district: 'Futian', category: 'jewellery' };
    const sent = Promise.all([
      client.send({ type: 'view', ...place, count: 1_250 }),
      client.send({ type: 'view', ...place }),
    ]);
    await client.flush();
    expect((await sent).map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect(transport.calls[0]!.events.map((e) => e.type === 'view' && [e.count, e.viewerId])).toEqual([
      [1_250, undefined],
      [undefined, undefined],
    ]);
  });

  it('keeps at most maxInFlightBatches on the wire', async () => {
    const { transport, client } = setup({ maxBatchEvents: 1, maxInFlightBatches: 2 });
    const release: (() => void)[] = [];
    transport.sendBatch = async function (events) {
      this.calls.push({ at: 0, events: [...events] });
      await new Promise<void>((r) => release.push(r));
      return { kind: 'results', results: events.map(() => ({ status: 'accepted' as const })) };
    };
    const sent = client.sendMany([view(1), view(2), view(3), view(4)]);
    await settle();
    expect(transport.calls).toHaveLength(2);
    release.shift()!();
    await settle();
    expect(transport.calls).toHaveLength(3);
    while (release.length > 0) {
      release.shift()!();
      await settle();
    }
    expect(await sent).toHaveLength(4);
  });
});

describe('retries', () => {
  it('retries 503s and network errors with full-jitter backoff, resending the same eventIds', async () => {
    const { clock, transport, client } = setup({ baseBackoffMs: 100, maxBackoffMs: 1_000, lingerMs: 0 });
    transport.script.push(retry(), () => ({ kind: 'retry', reason: 'network error: ECONNRESET' }), retry());
    const sent = client.sendMany([view(1), view(2)]);
    await clock.advance(0);
    for (let i = 0; i < 3; i++) await clock.advance(clock.pendingTimers[0] ?? 0);
    const outcomes = await sent;
    expect(outcomes).toEqual([
      { status: 'accepted', eventId: 'gen-1', attempts: 4 },
      { status: 'accepted', eventId: 'gen-2', attempts: 4 },
    ]);
    expect(transport.calls.map((c) => c.at - T0)).toEqual([0, 50, 150, 350]); // random 0.5 × 100, 200, 400
    for (let i = 1; i < 4; i++) {
      expect(transport.ids(i)).toEqual(['gen-1', 'gen-2']);
      expect(transport.calls[i]!.events.map((e) => e.ts)).toEqual([T0, T0]);
    }
  });

  it('waits at least Retry-After', async () => {
    const { clock, transport, client } = setup({ baseBackoffMs: 100, lingerMs: 0 });
    transport.script.push(retry(3_000));
    const sent = client.send(view(1));
    await clock.advance(0);
    await clock.advance(3_049);
    expect(transport.calls).toHaveLength(1);
    await clock.advance(1); // 3000 + 0.5 × 100 of jitter
    expect(transport.calls).toHaveLength(2);
    expect(await sent).toMatchObject({ status: 'accepted', attempts: 2 });
  });

  it('gives up after maxAttempts and reports the events with their eventIds', async () => {
    const { clock, transport, client } = setup({ maxAttempts: 3, lingerMs: 0 });
    transport.script.push(retry(), retry(), retry());
    const sent = client.send(view(1));
    await clock.advance(60_000);
    const outcome = await sent;
    expect(outcome).toMatchObject({
      status: 'failed',
      eventId: 'gen-1',
      code: 'GAVE_UP',
      attempts: 3,
      error: expect.stringContaining('KAFKA_UNAVAILABLE'),
    });
    expect(outcome.status === 'failed' && outcome.event.eventId).toBe('gen-1');
    expect(transport.calls).toHaveLength(3);
    const report = await client.flush();
    expect(report).toMatchObject({ accepted: 0, failed: [{ eventId: 'gen-1', status: 'failed' }] });
    expect((await client.flush()).failed).toEqual([]); // reported once
  });

  it('gives up when the next wait would pass giveUpAfterMs', async () => {
    const { clock, transport, client } = setup({ giveUpAfterMs: 5_000, maxAttempts: 100, lingerMs: 0 });
    transport.script.push(retry(4_000), retry(4_000));
    const sent = client.send(view(1));
    await clock.advance(20_000);
    expect(await sent).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('does not retry a refused request', async () => {
    const { clock, transport, client } = setup({ lingerMs: 0 });
    transport.script.push(() => ({
      kind: 'fatal',
      reason: 'HTTP 403 FORBIDDEN_PLATFORM',
      status: 403,
      code: 'FORBIDDEN_PLATFORM',
    }));
    const sent = client.send(view(1));
    await clock.advance(0);
    expect(await sent).toMatchObject({ status: 'failed', code: 'FORBIDDEN_PLATFORM', attempts: 1 });
    expect(transport.calls).toHaveLength(1);
  });
});

describe('per-event results', () => {
  it('maps the collector’s results and rejects invalid events locally without sending them', async () => {
    const { transport, client } = setup();
    transport.script.push((events) => ({
      kind: 'results',
      results: events.map((_e, i) =>
        i === 1
          ? { status: 'duplicate_in_batch' }
          : i === 2
            ? { status: 'rejected', errors: [{ field: 'ts', reason: 'out_of_range', message: 'late' }] }
            : { status: 'accepted' },
      ),
    }));
    const outcomes = client.sendMany([
      view(1, { eventId: 'a' }),
      view(2, { eventId: 'a' }),
      view(3),
      view(4, { city: 'Bad;City' }),
    ]);
    await client.flush();
    expect((await outcomes).map((o) => o.status)).toEqual(['accepted', 'duplicate', 'rejected', 'rejected']);
    expect(transport.calls[0]!.events).toHaveLength(3);
    const report = await client.flush();
    expect(report).toEqual({ accepted: 0, duplicates: 0, failed: [] }); // already taken by the first flush
  });

  it('fails fast when the buffer is full', async () => {
    const { client } = setup({ maxBufferedEvents: 2, lingerMs: 1_000 });
    const outcomes = client.sendMany([view(1), view(2), view(3)]);
    const report = await client.flush();
    expect((await outcomes).map((o) => o.status)).toEqual(['accepted', 'accepted', 'failed']);
    expect(report.failed[0]).toMatchObject({ code: 'BUFFER_FULL' });
  });
});

describe('close', () => {
  it('sends what is buffered, closes the transport and refuses later sends', async () => {
    const { transport, client } = setup({ lingerMs: 10_000 });
    const sent = client.send(view(1));
    const report = await client.close();
    expect(report.accepted).toBe(1);
    expect(await sent).toMatchObject({ status: 'accepted' });
    expect(transport.closed).toBe(true);
    await expect(client.send(view(2))).rejects.toThrow(/closed/);
    expect(await client.close()).toBe(report);
  });
});
