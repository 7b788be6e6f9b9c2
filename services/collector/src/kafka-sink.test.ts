import type { ProducerRecord } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@livetally/logging';
import { KafkaEventSink, RecordsTooLargeError, SinkUnavailableError, type ProducerLike } from './kafka-sink';
import { RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from './record-limits';

const logger = createLogger({ service: 'collector', level: 'silent' });
const msg = (key: string) => ({ key, value: Buffer.from(`{"k":"${key}"}`) });

/** A producer whose connects and sends settle when the test says so. */
class ScriptedProducer implements ProducerLike {
  readonly records: ProducerRecord[] = [];
  connectFailures = 0;
  connects = 0;
  disconnects = 0;
  private sends: { resolve: () => void; reject: (e: Error) => void }[] = [];

  async connect(): Promise<void> {
    this.connects++;
    if (this.connectFailures-- > 0) throw new Error('ECONNREFUSED');
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
  send(record: ProducerRecord): Promise<unknown> {
    this.records.push(record);
    return new Promise<void>((resolve, reject) => this.sends.push({ resolve, reject }));
  }
  ack(): void {
    this.sends.shift()?.resolve();
  }
  fail(message: string): void {
    this.sends.shift()?.reject(new Error(message));
  }
  /** What kafkajs raises for the broker's MESSAGE_TOO_LARGE. */
  refuseAsTooLarge(): void {
    this.sends
      .shift()
      ?.reject(
        Object.assign(
          new Error('The request included a message larger than the max message size the server will accept'),
          { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', code: 10 },
        ),
      );
  }
}

const MAX_PRODUCE_BYTES = 1_048_576;

async function connectedSink(options: { timeoutMs?: number; maxPendingEvents?: number } = {}) {
  let now = 1_000;
  const producer = new ScriptedProducer();
  const outcomes: string[] = [];
  const sink = new KafkaEventSink({
    createProducer: () => producer,
    topic: 't',
    timeoutMs: options.timeoutMs ?? 1_000,
    maxPendingEvents: options.maxPendingEvents ?? 100,
    logger,
    cooldownMs: 2_000,
    maxProduceBytes: MAX_PRODUCE_BYTES,
    observer: { onProduce: (_s, outcome) => outcomes.push(outcome) },
    now: () => now,
  });
  sink.start();
  await vi.waitFor(() => expect(sink.isReady()).toBe(true));
  return { sink, producer, outcomes, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('KafkaEventSink', () => {
  it('produces with acks=all, keyed, and resolves on the acknowledgement', async () => {
    const { sink, producer, outcomes } = await connectedSink();
    const sending = sink.send([msg('s-1'), msg('s-2')]);
    await vi.waitFor(() => expect(producer.records).toHaveLength(1));
    expect(producer.records[0]).toMatchObject({ topic: 't', acks: -1, messages: [{ key: 's-1' }, { key: 's-2' }] });
    producer.ack();
    await sending;
    expect(outcomes).toEqual(['ok']);
  });

  it('refuses at once while not connected, and connects with retries in the background', async () => {
    vi.useFakeTimers();
    const producer = new ScriptedProducer();
    producer.connectFailures = 2;
    const sink = new KafkaEventSink({
      createProducer: () => producer,
      topic: 't',
      timeoutMs: 1_000,
      maxPendingEvents: 10,
      logger,
      maxProduceBytes: MAX_PRODUCE_BYTES,
    });
    sink.start();
    await expect(sink.send([msg('a')])).rejects.toBeInstanceOf(SinkUnavailableError);
    expect(sink.isReady()).toBe(false);
    await vi.advanceTimersByTimeAsync(500 + 1_000);
    expect(producer.connects).toBe(3);
    expect(sink.isReady()).toBe(true);
    await sink.stop(0);
  });

  it('times out, sheds load during the cooldown, then tries again', async () => {
    const { sink, producer, outcomes, advance } = await connectedSink({ timeoutMs: 300 });
    await expect(sink.send([msg('a')])).rejects.toThrow(/did not acknowledge within 300 ms/);
    expect(outcomes).toEqual(['timeout']);
    expect(sink.isReady()).toBe(false);
    const refused = await sink.send([msg('b')]).catch((e: SinkUnavailableError) => e);
    expect(refused).toMatchObject({ retryAfterMs: 2_000 });
    expect(producer.records).toHaveLength(1); // the refused send never reached the producer
    advance(2_000);
    expect(sink.isReady()).toBe(true);
    producer.ack(); // the timed-out send lands late: nobody is waiting for it…
    const retry = sink.send([msg('b')]); // …and the next request goes out
    await vi.waitFor(() => expect(producer.records).toHaveLength(2), { interval: 1 });
    producer.ack();
    await retry;
  });

  it('turns producer errors into SinkUnavailableError', async () => {
    const { sink, producer, outcomes } = await connectedSink();
    const sending = sink.send([msg('a')]);
    await vi.waitFor(() => expect(producer.records).toHaveLength(1));
    producer.fail('NOT_LEADER_FOR_PARTITION');
    await expect(sending).rejects.toThrow(/NOT_LEADER_FOR_PARTITION/);
    expect(outcomes).toEqual(['error']);
  });

  it('refuses when too many events are waiting for Kafka', async () => {
    const { sink, producer } = await connectedSink({ maxPendingEvents: 3 });
    const first = sink.send([msg('a'), msg('b')]);
    await expect(sink.send([msg('c'), msg('d')])).rejects.toThrow(/too many events/);
    const second = sink.send([msg('c')]);
    producer.ack();
    await first;
    await vi.waitFor(() => expect(producer.records).toHaveLength(2));
    producer.ack();
    await second;
  });

  it('stop waits for sends still running, then disconnects; later sends are refused', async () => {
    const { sink, producer } = await connectedSink({ timeoutMs: 20 });
    await sink.send([msg('a')]).catch(() => undefined); // timed out, still in flight
    let stopped = false;
    const stopping = sink.stop(5_000).then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);
    producer.ack();
    await stopping;
    expect(producer.disconnects).toBe(1);
    await expect(sink.send([msg('b')])).rejects.toThrow(/shutting down/);
  });
});

describe('KafkaEventSink coalescing', () => {
  it('combines requests that queue behind an in-flight produce, within the byte bound (keys and framing counted)', async () => {
    const producer = new ScriptedProducer();
    // Room for exactly two of these records: their 9-byte values alone would let six in.
    const maxProduceBytes = RECORD_BATCH_OVERHEAD_BYTES + 2 * recordBytes(msg('b'));
    const sink = new KafkaEventSink({
      createProducer: () => producer,
      topic: 't',
      timeoutMs: 1_000,
      maxPendingEvents: 100,
      logger,
      maxProduceBytes,
    });
    sink.start();
    await vi.waitFor(() => expect(sink.isReady()).toBe(true));
    const first = sink.send([msg('a')]); // goes out alone
    await vi.waitFor(() => expect(producer.records).toHaveLength(1));
    const queued = [sink.send([msg('b')]), sink.send([msg('c')]), sink.send([msg('d')])]; // 9 bytes each
    producer.ack();
    await first;
    await vi.waitFor(() => expect(producer.records).toHaveLength(2));
    expect(producer.records[1]!.messages.map((m) => m.key)).toEqual(['b', 'c']); // d would pass the bound
    producer.fail('broker went away');
    await expect(queued[0]).rejects.toThrow(/broker went away/);
    await expect(queued[1]).rejects.toThrow(/broker went away/);
    await vi.waitFor(() => expect(producer.records).toHaveLength(3));
    expect(producer.records[2]!.messages.map((m) => m.key)).toEqual(['d']);
    producer.ack();
    await queued[2];
  });
});

describe('KafkaEventSink timeouts while queued', () => {
  it('drops a timed-out request that never reached the producer', async () => {
    const producer = new ScriptedProducer();
    const sink = new KafkaEventSink({
      createProducer: () => producer,
      topic: 't',
      timeoutMs: 200,
      maxPendingEvents: 100,
      logger,
      maxProduceBytes: MAX_PRODUCE_BYTES,
    });
    sink.start();
    await vi.waitFor(() => expect(sink.isReady()).toBe(true));
    const stuck = sink.send([msg('a')]);
    const queued = sink.send([msg('b')]);
    await expect(stuck).rejects.toThrow(/did not acknowledge/);
    await expect(queued).rejects.toThrow(/did not acknowledge/);
    producer.ack(); // the stuck one lands late; the queued one was never sent
    await new Promise((r) => setTimeout(r, 20));
    expect(producer.records.map((r) => r.messages.map((m) => m.key))).toEqual([['a']]);
    await sink.stop(100);
  });
});

describe('KafkaEventSink: records the broker refuses as too large', () => {
  /** A sink whose every producer is a new ScriptedProducer, so a renewal is visible. */
  async function renewingSink(maxProduceBytes = MAX_PRODUCE_BYTES) {
    const producers: ScriptedProducer[] = [];
    const outcomes: string[] = [];
    const sink = new KafkaEventSink({
      createProducer: () => producers[producers.push(new ScriptedProducer()) - 1]!,
      topic: 't',
      timeoutMs: 1_000,
      maxPendingEvents: 100,
      logger,
      cooldownMs: 2_000,
      maxProduceBytes,
      observer: { onProduce: (_s, outcome) => outcomes.push(outcome) },
    });
    sink.start();
    await vi.waitFor(() => expect(sink.isReady()).toBe(true));
    const current = () => producers.at(-1)!;
    return { sink, producers, outcomes, current };
  }

  it('fails that request alone with RecordsTooLargeError, keeps no cooldown, and goes on with a fresh producer', async () => {
    const { sink, producers, outcomes, current } = await renewingSink();
    const big = sink.send([msg('hot'), msg('hot'), msg('side')]);
    await vi.waitFor(() => expect(current().records).toHaveLength(1));
    current().refuseAsTooLarge();
    const refusal = await big.catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RecordsTooLargeError);
    expect(refusal).toMatchObject({
      largestStream: { streamId: 'hot', events: 2, bytes: RECORD_BATCH_OVERHEAD_BYTES + 2 * recordBytes(msg('hot')) },
    });
    expect(outcomes).toEqual(['too_large']);
    expect(sink.isReady()).toBe(true);
    // The refused call's producer is replaced: its sequence numbers no longer match the broker's.
    expect(producers).toHaveLength(2);
    expect(producers[0]!.disconnects).toBe(1);
    expect(producers[1]!.connects).toBe(1);
    const next = sink.send([msg('side')]);
    await vi.waitFor(() => expect(producers[1]!.records).toHaveLength(1));
    producers[1]!.ack();
    await next;
    await sink.stop(0);
  });

  it('resends each request of a refused combined call alone, so only the one that carried the refused records fails', async () => {
    const { sink, producers, current } = await renewingSink();
    const first = sink.send([msg('a')]);
    await vi.waitFor(() => expect(current().records).toHaveLength(1));
    const big = sink.send([msg('hot')]);
    const innocent = sink.send([msg('b')]);
    current().ack();
    await first;
    await vi.waitFor(() => expect(current().records).toHaveLength(2));
    expect(current().records[1]!.messages.map((m) => m.key)).toEqual(['hot', 'b']);
    current().refuseAsTooLarge();
    await vi.waitFor(() => expect(producers).toHaveLength(2));
    await vi.waitFor(() => expect(current().records).toHaveLength(1));
    expect(current().records[0]!.messages.map((m) => m.key)).toEqual(['hot']);
    current().refuseAsTooLarge();
    await expect(big).rejects.toBeInstanceOf(RecordsTooLargeError);
    await vi.waitFor(() => expect(current().records).toHaveLength(1));
    expect(producers).toHaveLength(3);
    expect(current().records[0]!.messages.map((m) => m.key)).toEqual(['b']);
    current().ack();
    await innocent;
    await sink.stop(0);
  });

  it('splits one large request over several produce calls and resolves once all are acknowledged', async () => {
    const { sink, current } = await renewingSink(RECORD_BATCH_OVERHEAD_BYTES + 2 * recordBytes(msg('a')));
    let done = false;
    const sending = sink.send([msg('a'), msg('b'), msg('c'), msg('d'), msg('e')]).then(() => (done = true));
    for (const keys of [['a', 'b'], ['c', 'd'], ['e']]) {
      await vi.waitFor(() =>
        expect(
          current()
            .records.at(-1)!
            .messages.map((m) => m.key),
        ).toEqual(keys),
      );
      expect(done).toBe(false);
      current().ack();
    }
    await sending;
    await sink.stop(0);
  });

  it('still answers other producer errors as unavailable, with the cooldown', async () => {
    const { sink, producers, current } = await renewingSink();
    const sending = sink.send([msg('a')]);
    await vi.waitFor(() => expect(current().records).toHaveLength(1));
    current().fail('NOT_ENOUGH_REPLICAS');
    await expect(sending).rejects.toBeInstanceOf(SinkUnavailableError);
    expect(sink.isReady()).toBe(false);
    expect(producers).toHaveLength(1);
    await sink.stop(0);
  });
});
