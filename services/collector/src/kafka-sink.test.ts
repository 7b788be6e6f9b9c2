import { createLogger } from '@livetally/logging';
import type { ProducerRecord } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KafkaEventSink, SinkUnavailableError, type ProducerLike } from './kafka-sink';

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
}

async function connectedSink(options: { timeoutMs?: number; maxPendingEvents?: number } = {}) {
  let now = 1_000;
  const producer = new ScriptedProducer();
  const outcomes: string[] = [];
  const sink = new KafkaEventSink({
    producer, topic: 't', timeoutMs: options.timeoutMs ?? 1_000, maxPendingEvents: options.maxPendingEvents ?? 100, logger, cooldownMs: 2_000,
    observer: { onProduce: (_s, outcome) => outcomes.push(outcome) }, now: () => now,
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
    const sink = new KafkaEventSink({ producer, topic: 't', timeoutMs: 1_000, maxPendingEvents: 10, logger });
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
  it('combines requests that queue behind an in-flight produce, within the byte bound', async () => {
    const producer = new ScriptedProducer();
    const sink = new KafkaEventSink({ producer, topic: 't', timeoutMs: 1_000, maxPendingEvents: 100, logger, maxCombinedBytes: 20 });
    sink.start();
    await vi.waitFor(() => expect(sink.isReady()).toBe(true));
    const first = sink.send([msg('a')]); // goes out alone
    await vi.waitFor(() => expect(producer.records).toHaveLength(1));
    const queued = [sink.send([msg('b')]), sink.send([msg('c')]), sink.send([msg('d')])]; // 9 bytes each
    producer.ack();
    await first;
    await vi.waitFor(() => expect(producer.records).toHaveLength(2));
    expect(producer.records[1]!.messages.map((m) => m.key)).toEqual(['b', 'c']); // 18 bytes; d would pass 20
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
    const sink = new KafkaEventSink({ producer, topic: 't', timeoutMs: 200, maxPendingEvents: 100, logger });
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
