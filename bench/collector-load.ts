/**
 * npm run bench:collector — a bounded load test of the real collector on loopback.
 *
 *   npm run bench:collector -- [--duration 15] [--clients 16] [--batch 500] [--gzip] [--quick]
 *
 * Starts the collector as a child process on a fresh topic of the local Kafka (rate limit
 * lifted), lets `clients` keep-alive connections POST batches of `batch` fresh events as
 * fast as it answers for `duration` seconds (at most 20, after 2 s of warm-up), then
 * prints accepted events/s and request latency percentiles, checks Kafka holds every
 * accepted event, and writes the JSON to bench-results/collector.json (and to
 * $BENCH_RESULT_FILE when set; `npm run bench` sets it). The JSON is also the last line
 * of stdout. Needs the stack: `bash infra/stack.sh up`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import type { LiveEvent } from '@livetally/events';
import { EventGenerator } from '../services/simulator/src/generator';

const ROOT = resolve(import.meta.dirname, '..');
const MAX_DURATION_S = 20;
const WARMUP_S = 2;
// Everything, start-up and clean-up included, ends by then.
const HARD_LIMIT_MS = 120_000;

const USAGE = `usage: npm run bench:collector -- [--duration <s>] [--clients <n>] [--batch <events>] [--gzip] [--quick]
  --duration  seconds of load after ${WARMUP_S} s of warm-up (1..${MAX_DURATION_S}; default 15, with --quick 5)
  --clients   keep-alive connections posting at once (1..256, default 16)
  --batch     events per request (1..1000, default 500)
  --gzip      gzip every request body
  --quick     a short run
Starts the real collector on a fresh topic of the local Kafka (KAFKA_BROKERS, default 127.0.0.1:9092),
prints accepted events/s and latency percentiles, checks Kafka holds every accepted event and writes
the JSON to bench-results/collector.json (and $BENCH_RESULT_FILE). Needs the stack: bash infra/stack.sh up.
`;
const VALUE_FLAGS = ['--duration', '--clients', '--batch'];
const SWITCHES = ['--gzip', '--quick'];

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const unknown = args.filter(
  (a, i) => !SWITCHES.includes(a) && !VALUE_FLAGS.includes(a) && !VALUE_FLAGS.includes(args[i - 1]!),
);
const usageError = (message: string): never => {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(2);
};
if (unknown.length > 0) usageError(`unknown argument ${JSON.stringify(unknown[0])}`);
const flag = (name: string) => args.includes(`--${name}`);
const num = (name: string, fallback: number, min: number, max: number) => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  return Number.isFinite(v) && v >= min && v <= max ? v : usageError(`--${name} must be between ${min} and ${max}`);
};
const quick = flag('quick');
const durationS = num('duration', quick ? 5 : 15, 1, MAX_DURATION_S);
const clients = num('clients', 16, 1, 256);
const batch = num('batch', 500, 1, 1000);
const gzip = flag('gzip');
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

const say = (line: string) => process.stdout.write(`[collector-load] ${line}\n`);
const hardStop = setTimeout(() => {
  say(`hard limit of ${HARD_LIMIT_MS / 1000} s passed; exiting`);
  child?.kill('SIGKILL');
  process.exit(1);
}, HARD_LIMIT_MS);
hardStop.unref();

let child: ChildProcess | undefined;
const run = `bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const topic = `lt.${run}`;
const apiKey = `douyin-${randomBytes(18).toString('base64url')}`;
const kafka = new Kafka({ clientId: 'collector-load', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();

try {
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: 1 }], waitForLeaders: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const metricsPort = await freePort();
  child = spawn(process.execPath, ['--import', 'tsx', 'services/collector/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC: topic,
      COLLECTOR_PORT: String(port),
      COLLECTOR_METRICS_PORT: String(metricsPort),
      COLLECTOR_API_KEYS: `douyin:${apiKey}`,
      COLLECTOR_RATE_LIMIT_EVENTS_PER_SEC: '10000000',
      COLLECTOR_RATE_LIMIT_BURST: '100000000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitReady(url, 60_000);
  say(
    `collector ready; ${clients} clients × batches of ${batch}${gzip ? ' (gzip)' : ''} for ${WARMUP_S} s warm-up + ${durationS} s`,
  );

  const result = await load(url);
  const kafkaWait = await produceWait(`http://127.0.0.1:${metricsPort}/metrics`);
  const offsets = await admin.fetchTopicOffsets(topic);
  const inKafka = offsets.reduce((sum, p) => sum + Number(p.high), 0);
  const summary = {
    scenario: 'collector-load',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: { clients, batchEvents: batch, gzip, durationS, warmupS: WARMUP_S, partitions: 12 },
    eventsPerSec: Math.round(result.measuredEvents / result.seconds),
    requestsPerSec: Math.round(result.latencies.length / result.seconds),
    p50Ms: pct(result.latencies, 0.5),
    p95Ms: pct(result.latencies, 0.95),
    p99Ms: pct(result.latencies, 0.99),
    maxMs: pct(result.latencies, 1),
    /** Inside the collector: mean wait per request from handing events to the producer to Kafka's ack. */
    kafkaWaitMeanMs: kafkaWait,
    acceptedEvents: result.acceptedEvents,
    kafkaMessages: inKafka,
    statuses: result.statuses,
  };
  say(
    `${summary.eventsPerSec} accepted events/s, ${summary.requestsPerSec} requests/s; latency p50 ${summary.p50Ms} ms, p95 ${summary.p95Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms`,
  );
  say(`collector-side Kafka wait per request: mean ${kafkaWait} ms`);
  say(
    `statuses ${JSON.stringify(result.statuses)}; Kafka holds ${inKafka} messages for ${result.acceptedEvents} accepted events`,
  );
  if (inKafka !== result.acceptedEvents)
    throw new Error(`Kafka holds ${inKafka} messages but ${result.acceptedEvents} events were accepted`);
  const json = JSON.stringify(summary);
  for (const file of [join(ROOT, 'bench-results', 'collector.json'), process.env.BENCH_RESULT_FILE].filter(
    (f): f is string => !!f,
  )) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  }
  process.stdout.write(`${json}\n`);
  process.exitCode = 0;
} catch (err) {
  say(`failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopChild();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  clearTimeout(hardStop);
}

/** N closed-loop clients: each sends its next batch as soon as the previous one is answered. */
async function load(url: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const templates = buildTemplates();
  const started = performance.now();
  const measureFrom = started + WARMUP_S * 1000;
  const end = measureFrom + durationS * 1000;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let acceptedEvents = 0;
  let measuredEvents = 0;
  let seq = 0;
  const client = async (c: number) => {
    while (performance.now() < end) {
      const n = seq++;
      // Fresh eventIds for every request, as a platform would send.
      const events = templates[c % templates.length]!.map((e, i) => ({ ...e, eventId: `${run}-${n}-${i}` }));
      const json = Buffer.from(JSON.stringify({ events }));
      const body = gzip ? gzipSync(json) : json;
      const t0 = performance.now();
      const { status, text } = await post(agent, url, body);
      const t1 = performance.now();
      statuses[status] = (statuses[status] ?? 0) + 1;
      const accepted = status === 200 || status === 207 ? (JSON.parse(text) as { accepted: number }).accepted : 0;
      acceptedEvents += accepted;
      if (t0 >= measureFrom && t1 <= end) {
        latencies.push(t1 - t0);
        measuredEvents += accepted;
      }
      if (status === 503 || status === 429) await new Promise((r) => setTimeout(r, 200));
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  agent.destroy();
  return { latencies: latencies.sort((a, b) => a - b), statuses, acceptedEvents, measuredEvents, seconds: durationS };
}

function post(agent: Agent, url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolvePost, reject) => {
    const req = request(
      `${url}/v1/events`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          authorization: `Bearer ${apiKey}`,
          ...(gzip ? { 'content-encoding': 'gzip' } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePost({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** A few realistic batches from the simulator's generator, reused with fresh eventIds. */
function buildTemplates(): LiveEvent[][] {
  const now = Date.now() - 60_000;
  let i = 0;
  const generator = new EventGenerator({ seed: 7, hosts: 500, clock: () => now + i });
  return Array.from({ length: 8 }, () =>
    Array.from({ length: batch }, () => (i++, { ...generator.next(), platform: 'douyin' })),
  );
}

/** Mean of the collector's livetally_collector_kafka_produce_duration_seconds{outcome="ok"}, in ms. */
async function produceWait(metricsUrl: string): Promise<number | null> {
  const text = await fetch(metricsUrl).then(
    (r) => r.text(),
    () => '',
  );
  const read = (suffix: string) =>
    Number(
      new RegExp(`^livetally_collector_kafka_produce_duration_seconds_${suffix}\\{outcome="ok"\\} (\\S+)$`, 'm').exec(
        text,
      )?.[1],
    );
  const [sum, count] = [read('sum'), read('count')];
  return count > 0 ? Math.round((sum / count) * 10_000) / 10 : null;
}

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 10) / 10;
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child?.exitCode !== null) throw new Error(`the collector exited with ${child?.exitCode}`);
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the collector was not ready within ${timeoutMs} ms`);
}

async function stopChild(): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child!.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child?.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolvePort(port));
    });
  });
}
