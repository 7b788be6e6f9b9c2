import { describe, expect, it } from 'vitest';
import { ManualClock, MemoryTotals, RecordingSubscriber } from '../testing/fakes';
import { LiveHub } from './hub';
import { LocalOwnerQuota, type OwnerQuota, type QuotaVerdict } from './owner-quota';
import type { HubObserver } from './types';

function setup(options: { max?: number; observer?: HubObserver; pushIntervalMs?: number } = {}) {
  const totals = new MemoryTotals().add('all', { views: 1, salesFen: 100 }).add("district:Bao'an", { orders: 2 });
  const clock = new ManualClock();
  const hub = new LiveHub({
    reader: totals,
    tickMs: 1000,
    pushIntervalMs: options.pushIntervalMs,
    maxSubscriptionsPerClient: options.max ?? 10,
    clock,
    observer: options.observer,
  });
  return { totals, clock, hub };
}

async function subscribed(hub: LiveHub, channel: string, sub = new RecordingSubscriber()) {
  expect(await hub.subscribe(sub, channel)).toMatchObject({ ok: true });
  await hub.idle();
  return sub;
}

describe('LiveHub', () => {
  it('sends a snapshot with the exact totals right after subscribe', async () => {
    const { hub, clock } = setup();
    const sub = await subscribed(hub, "totals:district:Bao'an");
    expect(sub.frames).toEqual([
      {
        type: 'snapshot',
        channel: "totals:district:Bao'an",
        data: expect.objectContaining({ orders: 2, views: 0 }),
        seq: 1,
        ts: clock.t,
      },
    ]);
  });

  it('coalesces many changes within a tick into one read and one update per channel', async () => {
    const { hub, totals } = setup();
    const a = await subscribed(hub, 'totals:all');
    const b = await subscribed(hub, 'totals:all');
    const c = await subscribed(hub, "totals:district:Bao'an");
    totals.reads.length = 0;
    for (let i = 0; i < 50; i++) {
      totals.add('all', { views: 1, salesFen: 3 }).add("district:Bao'an", { orders: 1 });
      hub.markChanged(['all', "district:Bao'an", 'city:Shenzhen']);
    }
    await hub.tick();
    expect(totals.reads).toEqual([['all', "district:Bao'an"]]); // one read; unwatched city:Shenzhen skipped
    for (const sub of [a, b])
      expect(sub.ofType('update')).toEqual([
        {
          type: 'update',
          channel: 'totals:all',
          data: expect.objectContaining({ views: 51, salesFen: 250 }),
          seq: 2,
          ts: expect.any(Number),
        },
      ]);
    expect(c.ofType('update')).toHaveLength(1);
    expect(c.ofType('update')[0]!.data).toMatchObject({ orders: 52 });
  });

  it('sends nothing when the totals did not change or nothing was marked', async () => {
    const { hub, totals } = setup();
    const sub = await subscribed(hub, 'totals:all');
    hub.markChanged(['all']);
    await hub.tick();
    totals.add('all', { views: 1 }); // changed but never announced: no read, no update
    await hub.tick();
    expect(sub.ofType('update')).toEqual([]);
    expect(totals.reads).toHaveLength(2); // the snapshot and the one marked tick
  });

  it('stops updates after unsubscribe and forgets unwatched channels', async () => {
    const { hub, totals } = setup();
    const sub = await subscribed(hub, 'totals:all');
    expect(hub.unsubscribe(sub, 'totals:all')).toBe(true);
    expect(hub.unsubscribe(sub, 'totals:all')).toBe(false);
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    await hub.tick();
    expect(sub.ofType('update')).toEqual([]);
    expect(hub.stats()).toEqual({ clients: 0, subscriptions: 0, channels: 0 });
  });

  it('removes every subscription of a disconnected subscriber', async () => {
    const { hub } = setup();
    const sub = await subscribed(hub, 'totals:all');
    await subscribed(hub, 'totals:category:food', sub);
    const other = await subscribed(hub, 'totals:all');
    hub.removeSubscriber(sub);
    expect(hub.stats()).toEqual({ clients: 1, subscriptions: 1, channels: 1 });
    hub.removeSubscriber(other);
    expect(hub.stats()).toEqual({ clients: 0, subscriptions: 0, channels: 0 });
  });

  it('limits subscriptions per client; re-subscribing the same channel only re-sends the snapshot', async () => {
    const { hub } = setup({ max: 2 });
    const sub = await subscribed(hub, 'totals:all');
    await subscribed(hub, 'totals:city:Shenzhen', sub);
    expect(await hub.subscribe(sub, 'totals:city:Beijing')).toMatchObject({
      ok: false,
      code: 'TOO_MANY_SUBSCRIPTIONS',
    });
    await subscribed(hub, 'totals:all', sub);
    expect(sub.ofType('snapshot')).toHaveLength(3);
    expect(hub.stats().subscriptions).toBe(2);
  });

  it('caps subscriptions per token over all its subscribers, and over the whole process', async () => {
    const totals = new MemoryTotals();
    const hub = new LiveHub({
      reader: totals,
      tickMs: 1000,
      maxSubscriptionsPerClient: 10,
      ownerQuota: new LocalOwnerQuota(3),
      maxSubscriptionsTotal: 5,
      clock: new ManualClock(),
    });
    const owned = (owner: string) => Object.assign(new RecordingSubscriber(), { owner });
    const [a1, a2, b, anonymous] = [owned('screen-a'), owned('screen-a'), owned('screen-b'), new RecordingSubscriber()];
    for (const channel of ['totals:all', 'totals:city:Shenzhen'])
      expect(await hub.subscribe(a1, channel)).toMatchObject({ ok: true });
    expect(await hub.subscribe(a2, 'totals:all')).toMatchObject({ ok: true });
    expect(await hub.subscribe(a2, 'totals:city:Beijing')).toMatchObject({
      ok: false,
      code: 'TOO_MANY_SUBSCRIPTIONS',
      message: expect.stringContaining('per token'),
    });
    expect(await hub.subscribe(a1, 'totals:all')).toMatchObject({ ok: true }); // a re-subscribe is not one more
    expect(await hub.subscribe(b, 'totals:all')).toMatchObject({ ok: true }); // another token has its own budget
    expect(await hub.subscribe(anonymous, 'totals:all')).toMatchObject({ ok: true });
    expect(await hub.subscribe(b, 'totals:city:Beijing')).toMatchObject({ ok: false, code: 'GATEWAY_FULL' });
    expect(hub.stats().subscriptions).toBe(5);
    hub.removeSubscriber(a1); // frees two of screen-a's and two of the process's
    expect(await hub.subscribe(a2, 'totals:city:Beijing')).toMatchObject({ ok: true });
    expect(await hub.subscribe(a2, 'totals:city:Wuhan')).toMatchObject({ ok: true });
    expect(await hub.subscribe(a2, 'totals:city:Xian')).toMatchObject({ ok: false, code: 'TOO_MANY_SUBSCRIPTIONS' });
    await hub.idle();
  });

  it('refuses with NOT_READY when the owner quota cannot count, and gives back the share of a subscriber gone while waiting', async () => {
    const quota = new GatedQuota();
    const hub = new LiveHub({
      reader: new MemoryTotals(),
      tickMs: 1000,
      maxSubscriptionsPerClient: 10,
      ownerQuota: quota,
      clock: new ManualClock(),
    });
    const screen = Object.assign(new RecordingSubscriber(), { owner: 'wall' });
    const unavailable = hub.subscribe(screen, 'totals:all');
    quota.answer('unavailable');
    expect(await unavailable).toMatchObject({
      ok: false,
      code: 'NOT_READY',
      message: expect.stringContaining('Redis'),
    });
    expect(hub.stats().subscriptions).toBe(0);

    const taken = hub.subscribe(screen, 'totals:all');
    quota.answer('ok');
    expect(await taken).toMatchObject({ ok: true });
    expect(quota.held).toBe(1);
    const waiting = hub.subscribe(screen, 'totals:city:Shenzhen');
    hub.removeSubscriber(screen); // the socket closes while its subscribe waits for Redis
    expect(quota.held).toBe(0);
    quota.answer('ok');
    expect(await waiting).toMatchObject({ ok: false });
    expect(quota.held).toBe(0); // the late share was given back, nothing registered
    expect(hub.stats()).toEqual({ clients: 0, subscriptions: 0, channels: 0 });
    await hub.idle();
  });

  it('rejects malformed channels with a clear message', async () => {
    const { hub } = setup();
    const sub = new RecordingSubscriber();
    expect(await hub.subscribe(sub, 'all')).toMatchObject({
      ok: false,
      code: 'INVALID_CHANNEL',
      message: expect.stringContaining('totals:'),
    });
    expect(await hub.subscribe(sub, 'totals:planet:Mars')).toMatchObject({
      ok: false,
      code: 'INVALID_CHANNEL',
      message: expect.stringContaining('unknown scope kind'),
    });
    expect(hub.stats().subscriptions).toBe(0);
  });

  it('skips a congested subscriber and gives it the latest value on a later tick', async () => {
    const deferred: number[] = [];
    const { hub, totals } = setup({ observer: { onUpdatesDeferred: (n) => deferred.push(n) } });
    const slow = await subscribed(hub, 'totals:all');
    const fast = await subscribed(hub, 'totals:all');
    slow.congested = true;
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    await hub.tick();
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    await hub.tick();
    expect(fast.ofType('update').map((f) => f.seq)).toEqual([2, 3]);
    expect(slow.ofType('update')).toEqual([]);
    slow.congested = false;
    await hub.tick(); // still dirty because of the skipped subscriber
    expect(slow.ofType('update')).toEqual([
      expect.objectContaining({ seq: 3, data: expect.objectContaining({ views: 3 }) }),
    ]);
    expect(fast.ofType('update')).toHaveLength(2);
    expect(deferred).toEqual([1, 1]); // the two ticks that skipped it, none after it drained
  });

  it('retries a failed tick read and answers a failed snapshot read with an error frame', async () => {
    const errors: unknown[] = [];
    const { hub, totals } = setup({ observer: { onReadError: (e) => errors.push(e) } });
    const sub = await subscribed(hub, 'totals:all');
    totals.add('all', { orders: 1 });
    hub.markChanged(['all']);
    totals.failReads = 1;
    await hub.tick();
    expect(sub.ofType('update')).toEqual([]);
    await hub.tick();
    expect(sub.ofType('update')).toEqual([expect.objectContaining({ data: expect.objectContaining({ orders: 1 }) })]);
    totals.failReads = 1;
    const late = await subscribed(hub, 'totals:category:food');
    expect(late.frames).toEqual([
      { type: 'error', code: 'NOT_READY', message: expect.any(String), channel: 'totals:category:food' },
    ]);
    expect(hub.stats().subscriptions).toBe(1);
    expect(errors).toHaveLength(2);
  });

  it('catches existing subscribers up when a newer snapshot moved the channel on', async () => {
    const { hub, totals } = setup();
    const first = await subscribed(hub, 'totals:all');
    totals.add('all', { views: 5 }); // notification still in flight when the second client subscribes
    const second = await subscribed(hub, 'totals:all');
    expect(second.ofType('snapshot')[0]).toMatchObject({ seq: 2, data: { views: 6 } });
    await hub.tick();
    expect(first.ofType('update')).toEqual([
      expect.objectContaining({ seq: 2, data: expect.objectContaining({ views: 6 }) }),
    ]);
    expect(second.ofType('update')).toEqual([]);
  });

  it('ticks on its timer until stopped and reports fan-out latency', async () => {
    const latencies: number[] = [];
    const { hub, clock, totals } = setup({ observer: { onFanOut: (ms) => latencies.push(ms) } });
    hub.start();
    hub.start(); // idempotent
    expect(clock.timers).toHaveLength(1);
    expect(clock.timers[0]!.ms).toBe(1000);
    const sub = await subscribed(hub, 'totals:all');
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    clock.t += 420;
    clock.timers[0]!.fn();
    await hub.idle();
    expect(sub.ofType('update')).toHaveLength(1);
    expect(latencies).toEqual([420]);
    hub.stop();
    expect(clock.timers[0]!.cancelled).toBe(true);
  });

  it('pushes a change without waiting for the tick, at most once per push interval', async () => {
    const { hub, clock, totals } = setup({ pushIntervalMs: 100 });
    const sub = await subscribed(hub, 'totals:all');
    hub.markChanged(['all']);
    expect(clock.timeouts).toHaveLength(0); // not started: nothing is scheduled
    hub.start();
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    hub.markChanged(['all']); // coalesced with the first
    expect(clock.timeouts.map((t) => t.ms)).toEqual([0]);
    clock.timeouts[0]!.fn();
    await hub.idle();
    expect(sub.ofType('update')).toEqual([
      expect.objectContaining({ seq: 2, data: expect.objectContaining({ views: 2 }) }),
    ]);

    clock.t += 30;
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    expect(clock.timeouts.map((t) => t.ms)).toEqual([0, 70]); // 100 ms after the previous push
    clock.t += 70;
    clock.timeouts[1]!.fn();
    await hub.idle();
    expect(sub.ofType('update').map((f) => (f.data as { views: number }).views)).toEqual([2, 3]);

    hub.markChanged(['district:Shenzhen']); // nobody watches it: nothing to schedule
    expect(clock.timeouts).toHaveLength(2);
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    hub.stop();
    expect(clock.timeouts[2]!.cancelled).toBe(true);
  });

  it('pushes a change at once after a tick that had nothing to send', async () => {
    const { hub, clock, totals } = setup({ pushIntervalMs: 100 });
    const sub = await subscribed(hub, 'totals:all');
    hub.start();
    await hub.tick(); // nothing changed, nothing read
    clock.t += 10;
    totals.add('all', { views: 1 });
    hub.markChanged(['all']);
    expect(clock.timeouts.map((t) => t.ms)).toEqual([0]);
    clock.timeouts[0]!.fn();
    await hub.idle();
    expect(sub.ofType('update')).toHaveLength(1);
  });

  it('does not pile up ticks behind a slow read', async () => {
    const { hub, totals } = setup();
    await subscribed(hub, 'totals:all');
    totals.reads.length = 0;
    hub.markChanged(['all']);
    const ticks = [hub.tick(), hub.tick(), hub.tick()];
    await Promise.all(ticks);
    expect(totals.reads).toHaveLength(1);
  });
});

describe('LiveHub with a channel reader', () => {
  function setupChannels() {
    const clock = new ManualClock();
    const reads: string[][] = [];
    let minuteViews = 1;
    let gmv = 100;
    const channelReader = {
      async read(channels: readonly { name: string; kind?: string }[]) {
        reads.push(channels.map((c) => c.name));
        return new Map<string, unknown>(
          channels.map((c) => [
            c.name,
            c.kind === 'rankings' ? { top: [{ name: 'h-1', value: gmv }], members: 1 } : { m1: { views: minuteViews } },
          ]),
        );
      },
    };
    const hub = new LiveHub({
      reader: new MemoryTotals(),
      channelReader,
      tickMs: 1000,
      maxSubscriptionsPerClient: 10,
      clock,
    });
    return { hub, reads, set: (v: number, g: number) => ((minuteViews = v), (gmv = g)) };
  }

  it('re-reads time-based channels every tick, and rankings when their parent scope changes', async () => {
    const { hub, reads, set } = setupChannels();
    const windows = await subscribed(hub, 'windows:all');
    const ranks = await subscribed(hub, 'rankings:campaign:ecm:host:gmv');
    reads.length = 0;
    set(2, 100);
    await hub.tick();
    expect(reads).toEqual([['windows:all']]);
    expect(windows.ofType('update')).toHaveLength(1);
    set(2, 250);
    hub.markChanged(['campaign:ecm']);
    await hub.tick();
    expect([...reads.at(-1)!].sort()).toEqual(['rankings:campaign:ecm:host:gmv', 'windows:all']);
    expect(ranks.ofType('update')[0]!.data).toEqual({ top: [{ name: 'h-1', value: 250 }], members: 1 });
    expect(windows.ofType('update')).toHaveLength(1); // unchanged value: nothing sent
  });
});

/** An owner quota whose takes wait until the test answers them, in order. */
class GatedQuota implements OwnerQuota {
  readonly max = 10;
  held = 0;
  private readonly waiting: ((verdict: QuotaVerdict) => void)[] = [];

  take(): Promise<QuotaVerdict> {
    return new Promise((resolve) =>
      this.waiting.push((verdict) => {
        if (verdict === 'ok') this.held++;
        resolve(verdict);
      }),
    );
  }

  give(): void {
    this.held--;
  }

  answer(verdict: QuotaVerdict): void {
    this.waiting.shift()!(verdict);
  }
}
