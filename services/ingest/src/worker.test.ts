import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { backoffMs } from './backoff';
import type { BatchDeps } from './batch-processor';
import { HistoryFlusher } from './history-flusher';
import { PartitionOwners } from './partition-owners';
import { IngestWorker, type WorkerOptions } from './worker';

const logger = pino({ level: 'silent' });
const NOW = Date.UTC(2024, 8, 1);
const sale = {
  v: 1,
  type: 'sale',
  eventId: 'e1',
  platform: 'douyin',
  streamId: 's1',
  hostId: 'h1',
  ts: NOW,
  city: 'Shenzhen',
  district: 'Luohu',
  category: 'jewellery',
  orderId: 'o1',
  sku: 'k1',
  quantity: 1,
  amountFen: 100,
};

/** The part of a kafkajs consumer the worker uses; eachBatch is captured for the test to drive. */
function fakeConsumer() {
  const bus = new EventEmitter();
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    on: (event: string, listener: (e: unknown) => void) => bus.on(event, listener),
    connect: vi.fn(async () => undefined),
    subscribe: vi.fn(async () => undefined),
    disconnect: vi.fn(async () => undefined),
    pause: vi.fn(),
    commitOffsets: vi.fn(async (_offsets: { offset: string }[]) => undefined),
    seek: vi.fn(),
    run: vi.fn(async (opts: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      consumer.eachBatch = opts.eachBatch;
      bus.emit('join', { payload: {} });
    }),
    eachBatch: undefined as undefined | ((p: EachBatchPayload) => Promise<void>),
    emit: (event: string, payload: unknown) => bus.emit(event, { payload }),
  };
  return consumer;
}

function fakePayload(running = { value: true }) {
  const resolved: string[] = [];
  const payload = {
    batch: {
      topic: 't',
      partition: 0,
      messages: [{ offset: '5', timestamp: String(NOW), key: null, value: Buffer.from(JSON.stringify(sale)) }],
      firstOffset: () => '5',
      offsetLag: () => '0',
    },
    resolveOffset: (o: string) => void resolved.push(o),
    heartbeat: vi.fn(async () => undefined),
    commitOffsetsIfNecessary: vi.fn(async () => undefined),
    isRunning: () => running.value,
    isStale: () => false,
  };
  return { payload: payload as unknown as EachBatchPayload, resolved, heartbeat: payload.heartbeat };
}

/** Store fakes; `failures` makes the first n Redis applies throw as if Redis were down. The real stores are tested in tests/. */
function fakeDeps(failures = 0, flush = { maxRows: 1, maxWaitMs: 10 }) {
  const calls = { applyAttempts: 0, inserted: 0, applied: 0 };
  const deps: BatchDeps = {
    counters: {
      async applyBatch() {
        if (calls.applyAttempts++ < failures) throw new Error('Connection is closed.');
        calls.applied++;
        return { applied: true };
      },
    },
    duplicates: { claim: async (inputs) => inputs.map(() => true) },
    deadLetters: { publish: async () => undefined },
    now: () => NOW,
    logger,
  };
  const owners = new PartitionOwners({
    topic: 't',
    owner: 'test',
    counters: { takePartition: async () => ({ gen: 1, applied: '4', durable: '4' }) },
    fence: {
      ownerGeneration: async () => 0,
      takeOwnership: async () => undefined,
      storedOffsets: async () => new Set<string>(),
    },
    logStart: async () => '0',
    logger,
  });
  let worker: IngestWorker | undefined;
  const flusher = new HistoryFlusher(
    {
      writer: {
        insert: async (rows) => void (calls.inserted += rows.length),
        settle: async () => undefined,
        storedOffsets: async () => new Set<string>(),
      },
      topic: 't',
      onDurable: (p, gen, offset) => worker!.onDurable(p, gen, offset),
      logger,
    },
    { ...flush, maxBufferedRows: 1000, retryMaxMs: 100 },
  );
  const durable: string[] = [];
  const extra = {
    owners,
    flusher,
    durableOffsets: { markDurable: async (_t: string, _p: number, _g: number, o: string) => (durable.push(o), true) },
  };
  return { deps, calls, durable, extra, bind: (w: IngestWorker) => (worker = w) };
}

function makeWorker(
  consumer: ReturnType<typeof fakeConsumer>,
  fakes: ReturnType<typeof fakeDeps>,
  extra: Partial<WorkerOptions> = {},
) {
  const readiness: boolean[] = [];
  const worker = new IngestWorker({
    consumer: consumer as unknown as Consumer,
    topic: 't',
    deps: fakes.deps,
    ...fakes.extra,
    logger,
    retryMaxMs: 100,
    hooks: { onReadyChange: (r) => readiness.push(r) },
    ...extra,
  });
  fakes.bind(worker);
  return { worker, readiness };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IngestWorker', () => {
  it('reads again from after what it applied when a batch leaves a gap (its position moved ahead, as kafkajs does after a rebalance)', async () => {
    const consumer = fakeConsumer();
    const fakes = fakeDeps();
    const { worker } = makeWorker(consumer, fakes);
    await worker.start();
    const first = fakePayload();
    await consumer.eachBatch!(first.payload); // offsets 5: applied 4 -> 5
    expect(first.resolved).toEqual(['5']);
    expect(fakes.calls.applied).toBe(1);
    // The group's committed offset is ahead of Redis (restored from an older snapshot): after a
    // rebalance that keeps the partition here, kafkajs fetches from there, 6..8 never read.
    const ahead = fakePayload();
    const batch = ahead.payload.batch as unknown as { messages: { offset: string }[]; firstOffset: () => string };
    batch.messages[0]!.offset = '9';
    batch.firstOffset = () => '9';
    await consumer.eachBatch!(ahead.payload);
    expect(consumer.seek).toHaveBeenCalledWith({ topic: 't', partition: 0, offset: '6' });
    expect(ahead.resolved).toEqual([]);
    expect(fakes.calls.applied).toBe(1); // 9 was not applied on top of 5
    // Kafka holds nothing in 6..8 (control records): the same batch comes back after each seek.
    for (let i = 0; i < 2; i++) await consumer.eachBatch!(ahead.payload);
    expect(consumer.seek).toHaveBeenCalledTimes(3);
    expect(fakes.calls.applied).toBe(1);
    await consumer.eachBatch!(ahead.payload);
    expect(consumer.seek).toHaveBeenCalledTimes(3);
    expect(ahead.resolved).toEqual(['9']);
    expect(fakes.calls.applied).toBe(2);
  });

  it('retries a failing batch without resolving it, heartbeating, and resolves once it is stored', async () => {
    const consumer = fakeConsumer();
    const fakes = fakeDeps(3);
    const { calls } = fakes;
    const { worker, readiness } = makeWorker(consumer, fakes);
    await worker.start();
    expect(worker.isReady()).toBe(true);

    const { payload, resolved, heartbeat } = fakePayload();
    const seen: boolean[] = [];
    const watch = setInterval(() => seen.push(worker.isReady()), 5);
    await consumer.eachBatch!(payload);
    clearInterval(watch);

    expect(calls.applyAttempts).toBe(4);
    expect(calls.applied).toBe(1);
    expect(resolved).toEqual(['5']);
    await vi.waitFor(() => expect(fakes.durable).toEqual(['5']));
    expect(calls.inserted).toBe(1);
    expect(heartbeat.mock.calls.length).toBeGreaterThan(3);
    expect(seen).toContain(false);
    expect(readiness).toEqual([true, false, true]);
  });

  it('leaves the batch unresolved when the consumer stops during the retries', async () => {
    const consumer = fakeConsumer();
    const fakes = fakeDeps(Infinity);
    const { calls } = fakes;
    const { worker } = makeWorker(consumer, fakes);
    await worker.start();
    const running = { value: true };
    const { payload, resolved } = fakePayload(running);
    const handled = consumer.eachBatch!(payload);
    await tick(150);
    running.value = false;
    await handled;
    expect(calls.applyAttempts).toBeGreaterThan(0);
    expect(resolved).toEqual([]);
    expect(worker.isReady()).toBe(true);
  });

  it('rethrows a heartbeat error (rebalance) without resolving, so kafkajs rejoins', async () => {
    const consumer = fakeConsumer();
    const { worker } = makeWorker(consumer, fakeDeps(Infinity));
    await worker.start();
    const { payload, resolved, heartbeat } = fakePayload();
    heartbeat.mockRejectedValue(
      Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' }),
    );
    await expect(consumer.eachBatch!(payload)).rejects.toThrow('rebalancing');
    expect(resolved).toEqual([]);
    expect(worker.isReady()).toBe(true);
  });

  it('holds batches while the store probe fails and reports not ready, then resumes', async () => {
    const consumer = fakeConsumer();
    const fakes = fakeDeps();
    const { calls } = fakes;
    let storesUp = false;
    const { worker } = makeWorker(consumer, fakes, {
      probeIntervalMs: 10,
      probeStores: async () => {
        if (!storesUp) throw new Error('ECONNREFUSED');
      },
    });
    await worker.start();
    await tick(30);
    expect(worker.isReady()).toBe(false);

    const { payload, resolved } = fakePayload();
    const handled = consumer.eachBatch!(payload);
    await tick(100);
    expect(calls.applyAttempts).toBe(0);
    storesUp = true;
    await handled;
    expect(resolved).toEqual(['5']);
    expect(worker.isReady()).toBe(true);
    await worker.stop();
    expect(worker.isReady()).toBe(false);
  });

  it('on stop, fetches nothing more, writes what the flusher holds and commits it before leaving the group', async () => {
    const steps: string[] = [];
    const consumer = fakeConsumer();
    consumer.pause = vi.fn(() => void steps.push('pause'));
    consumer.commitOffsets = vi.fn(
      async (offsets: { offset: string }[]) => void steps.push(`commit ${offsets[0]!.offset}`),
    );
    consumer.disconnect = vi.fn(async () => void steps.push('disconnect'));
    // Rows wait in the flusher until stop() drains them.
    const fakes = fakeDeps(0, { maxRows: 1_000, maxWaitMs: 60_000 });
    const { worker } = makeWorker(consumer, fakes);
    await worker.start();
    const { payload, resolved } = fakePayload();
    await consumer.eachBatch!(payload);
    expect(resolved).toEqual(['5']);
    expect(fakes.calls.inserted).toBe(0);

    await worker.stop();
    expect(fakes.calls.inserted).toBe(1);
    expect(fakes.durable).toEqual(['5']);
    expect(steps).toEqual(['pause', 'commit 6', 'disconnect']);
    expect(worker.isReady()).toBe(false);
  });

  it('runs the consumer again after a crash kafkajs does not restart, and gives up when it stays down', async () => {
    const consumer = fakeConsumer();
    const onFatal = vi.fn();
    const { worker } = makeWorker(consumer, fakeDeps(), { maxCrashedMs: 100, onFatal });
    await worker.start();
    expect(consumer.run).toHaveBeenCalledTimes(1);

    consumer.emit('crash', { error: new Error('boom'), restart: false });
    expect(worker.isReady()).toBe(false);
    await vi.waitFor(() => expect(consumer.run).toHaveBeenCalledTimes(2), { timeout: 2000 });
    expect(worker.isReady()).toBe(true); // rejoined: the crash clock starts again

    // kafkajs restarts retriable crashes itself; the worker only watches the clock.
    consumer.emit('crash', { error: new Error('boom'), restart: true });
    await tick(60);
    consumer.emit('crash', { error: new Error('boom'), restart: true });
    expect(onFatal).not.toHaveBeenCalled();
    await tick(60);
    consumer.emit('crash', { error: new Error('boom'), restart: true });
    expect(onFatal).toHaveBeenCalledTimes(1);
    expect(consumer.run).toHaveBeenCalledTimes(2);
    expect(worker.isReady()).toBe(false);
  });
});

describe('backoffMs', () => {
  it('grows exponentially with jitter and stays under the cap', () => {
    expect(backoffMs(1, 10_000, () => 0)).toBe(100);
    expect(backoffMs(3, 10_000, () => 1)).toBe(800);
    expect(backoffMs(30, 10_000, () => 1)).toBe(10_000);
  });
});
