/**
 * Produces the campaign month of the simulator's plan (bench/scenarios/month.ts) as fast
 * as it can, in a process of its own so that its CPU is measured apart: the generator
 * streams the month in event-time order in bounded memory, one produce request is in
 * flight while the next batch is generated. Reports progress every second and, at the
 * end, what it sent tallied per event type (independently of the pipeline's code).
 * It never runs more than BENCH_MAX_LAG events ahead of what the workers have applied (the
 * parent reports that count): the topic keeps only so much (bench/lib/month-disk.ts), so
 * what is deleted must have been read.
 *
 * It plays the platforms' side, so its client need not be the pipeline's: by default
 * @platformatic/kafka, whose producer spent half the CPU an event of kafkajs's (4.4–5.2
 * against 10.1–10.3 µs, same messages, batches and acks; docs/benchmarks.md), CPU the
 * pipeline shares on a 2-core machine. BENCH_PRODUCER_CLIENT=kafkajs plays it with kafkajs.
 * Both idempotent, acks from every in-sync replica, keys partitioned by murmur2 as Java's
 * and kafkajs's default partitioners do (computed here: bench/lib/murmur2.ts).
 *
 * A resumed run (bench/lib/month-sittings.ts) passes BENCH_SKIP, what each partition already
 * holds: the producer regenerates the month from its start, tallies every event, and sends
 * only those beyond each partition's end.
 *
 * Env: KAFKA_BROKERS, BENCH_TOPIC, BENCH_PARTITIONS, BENCH_SCALE, BENCH_SEED, BENCH_FROM, BENCH_TO (ms),
 * BENCH_CITIES (comma-separated), BENCH_MAX_EVENTS and BENCH_TIMEOUT_MS (the bounds), BENCH_MAX_LAG,
 * BENCH_PRODUCER_CLIENT (platformatic or kafkajs), BENCH_SKIP (optional).
 */
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { encodeEvent, type LiveEvent } from '@livetally/events';
import { CampaignGenerator } from '../../services/simulator/src/campaign-generator';
import type { Figures } from '../lib/month-check';
import { parseSkips } from '../lib/month-sittings';
import { partitionOfKey } from '../lib/murmur2';
import { env, send } from './bare-measure';

/** Events per produce request: a busy session's events share one partition, and the broker caps a request at 1 MB. */
const BATCH = 2_000;

export type MonthProducerMessage =
  | { type: 'regenerated'; events: number; seconds: number; cpuMicros: number }
  | { type: 'started' }
  | { type: 'progress'; sent: number; reachedTs: number; lagWaitS: number }
  | {
      type: 'result';
      /** Every event of the month in the topic, those of earlier sittings included. */
      sent: number;
      complete: boolean;
      reason: string;
      seconds: number;
      /** User + system CPU of this process from its first produce to the last ack (it exits before the parent's window closes). */
      cpuMicros: number;
      /** Seconds spent waiting for the workers (BENCH_MAX_LAG reached). */
      lagWaitS: number;
      sentFigures: Figures;
    };

/** From the parent: how many events the workers have applied so far. */
export interface MonthProducerApplied {
  type: 'applied';
  applied: number;
}

/** A message with its partition already chosen (partitionOfKey), so the client hashes no key. */
interface OutgoingMessage {
  key: string;
  value: Buffer;
  partition: number;
}

/** What the loop needs of a producer: a batch sent (acked by every in-sync replica), and a close. */
interface BatchProducer {
  send(messages: OutgoingMessage[]): Promise<unknown>;
  close(): Promise<void>;
}

async function connectProducer(client: string): Promise<BatchProducer> {
  if (client === 'kafkajs') {
    const kafka = new Kafka({ clientId: 'livetally-bench-month', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    return { send: (messages) => producer.send({ topic, acks: -1, messages }), close: () => producer.disconnect() };
  }
  if (client !== 'platformatic')
    throw new Error(`BENCH_PRODUCER_CLIENT must be platformatic or kafkajs, not ${client}`);
  const producer = new Producer({
    clientId: 'livetally-bench-month',
    bootstrapBrokers: brokers,
    serializers: { ...stringSerializers, value: (v: Buffer | undefined) => v },
    idempotent: true,
    acks: -1,
  });
  return {
    send: (messages) =>
      producer.send({ messages: messages.map((m) => ({ topic, key: m.key, value: m.value, partition: m.partition })) }),
    close: () => producer.close(),
  };
}

function emptyFigures(): Figures {
  return {
    salesFen: 0,
    views: 0,
    sessions: 0,
    sessionsEnded: 0,
    orders: 0,
    items: 0,
    refunds: 0,
    refundsFen: 0,
    likes: 0,
  };
}

/** What the events say, event type by event type: the reference the pipeline's figures are checked against. */
function tallyInto(t: Figures, events: readonly LiveEvent[]): void {
  for (const e of events) {
    switch (e.type) {
      case 'stream_started':
        t.sessions++;
        break;
      case 'stream_ended':
        t.sessionsEnded++;
        break;
      case 'view':
        t.views += e.count ?? 1;
        break;
      case 'like':
        t.likes += e.count;
        break;
      case 'sale':
        t.orders++;
        t.items += e.quantity;
        t.salesFen += e.amountFen;
        break;
      case 'refund':
        t.refunds++;
        t.refundsFen += e.amountFen;
        break;
    }
  }
}

const topic = env('BENCH_TOPIC');
const partitions = Number(env('BENCH_PARTITIONS'));
const maxEvents = Number(env('BENCH_MAX_EVENTS'));
const deadline = performance.now() + Number(env('BENCH_TIMEOUT_MS'));
const maxLag = Number(env('BENCH_MAX_LAG'));
let applied = 0;
process.on('message', (m: MonthProducerApplied) => {
  if (m.type === 'applied') applied = Math.max(applied, m.applied);
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const generator = new CampaignGenerator({
  seed: Number(env('BENCH_SEED')),
  scale: Number(env('BENCH_SCALE')),
  from: Number(env('BENCH_FROM')),
  to: Number(env('BENCH_TO')),
  cities: env('BENCH_CITIES').split(','),
});
const brokers = env('KAFKA_BROKERS', '127.0.0.1:9092').split(',');
const producer = await connectProducer(env('BENCH_PRODUCER_CLIENT', 'platformatic'));

const figures = emptyFigures();
let sent = 0;
let reachedTs = generator.from;
let lagWaitMs = 0;
const progress = setInterval(() => send({ type: 'progress', sent, reachedTs, lagWaitS: lagWaitMs / 1000 }), 1_000);

/**
 * Events of the month already in the topic (a resumed run): tallied, not sent. Returns the
 * events generated with them that the topic does not hold yet (at most about a request's
 * worth: partitions reach their ends close together). Yields now and then, so progress
 * reports go out.
 */
async function regenerate(skipText: string): Promise<LiveEvent[]> {
  const skips = parseSkips(skipText, partitions);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const carried: LiveEvent[] = [];
  const total = skips.pending;
  for (let batches = 1; skips.pending > 0; batches++) {
    const events = generator.until(Infinity, BATCH);
    if (events.length === 0)
      throw new Error(`the topic holds ${skips.pending} events beyond the month's end: it is not this plan's topic`);
    tallyInto(figures, events);
    for (const e of events) {
      if (skips.skip(partitionOfKey(e.streamId, partitions))) sent++;
      else carried.push(e);
    }
    reachedTs = events.at(-1)!.ts;
    if (batches % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(cpu0);
  send({
    type: 'regenerated',
    events: total,
    seconds: (performance.now() - t0) / 1000,
    cpuMicros: cpu.user + cpu.system,
  });
  return carried;
}

// Already tallied: events generated with the topic's events that the topic did not hold yet.
const skipText = env('BENCH_SKIP', '');
const carried = skipText ? await regenerate(skipText) : [];
send({ type: 'started' });
const started = performance.now();
const cpuAtStart = process.cpuUsage();
let reason = 'complete';
let inFlight: Promise<unknown> = Promise.resolve();
for (;;) {
  const waitFrom = performance.now();
  while (sent - applied > maxLag && performance.now() < deadline) await sleep(20);
  lagWaitMs += performance.now() - waitFrom;
  if (sent >= maxEvents) {
    reason = `stopped at BENCH_MAX_EVENTS (${maxEvents})`;
    break;
  }
  if (performance.now() > deadline) {
    reason = 'stopped at BENCH_TIMEOUT_MS';
    break;
  }
  let events: LiveEvent[];
  if (carried.length > 0) {
    events = carried.splice(0, BATCH);
  } else {
    events = generator.until(Infinity, Math.min(BATCH, maxEvents - sent));
    tallyInto(figures, events);
  }
  if (events.length === 0) break;
  const messages = events.map((e) => ({
    key: e.streamId,
    value: encodeEvent(e),
    partition: partitionOfKey(e.streamId, partitions),
  }));
  await inFlight;
  inFlight = producer.send(messages);
  sent += events.length;
  reachedTs = Math.max(reachedTs, events.at(-1)!.ts);
}
await inFlight;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuAtStart);
clearInterval(progress);
await producer.close();
const result: MonthProducerMessage = {
  type: 'result',
  sent,
  complete: reason === 'complete',
  reason,
  seconds,
  cpuMicros: cpu.user + cpu.system,
  lagWaitS: lagWaitMs / 1000,
  sentFigures: figures,
};
send(result);
process.disconnect?.();
