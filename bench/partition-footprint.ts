/**
 * npm run bench:partitions — Redis memory per scope of ADR 0003's per-partition live state.
 *
 *   npm run bench:partitions -- [--events 60000] [--partitions 1,12,48]
 *
 * With the Kafka partition as the unit of atomic state, a scope touched by P partitions has P
 * shares of its totals, minute buckets, HyperLogLogs and leaderboards. For each partition
 * count this applies the same synthetic events (keyed by stream, as the collector and the SDK
 * key them, so a stream's events land in one partition) through the workers' own apply
 * (RedisCounterStore.applyBatch with the BatchPlanner's live plan), one batch per partition
 * and chunk, into a fresh key prefix; then reads MEMORY USAGE (SAMPLES 0) of every key, by
 * kind, and times one read of `all`'s measures (sum of shares, HyperLogLog merge). It
 * deletes its keys after each case, also on failure, and writes
 * bench-results/partition-footprint.json (and $BENCH_RESULT_FILE when set). ADR 0003 asks
 * for these figures at 1, 12 and 48 partitions before the layout is accepted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LiveEvent } from '@livetally/events';
import { BatchPlanner, LiveStateReader, LiveStateStore, RedisCounterStore } from '@livetally/live-state';
import { machine } from './lib/environment';
import { ROOT, uniqueName } from './lib/stack';
import { benchRedis, deletePrefix } from './lib/stores';

const TOPIC = 'bench.partitions';
const CHUNK = 2_000;
const HARD_LIMIT_MS = 300_000;
const KINDS = ['t', 'm', 'u', 'h', 'r'] as const;
const KIND_NAMES: Record<(typeof KINDS)[number], string> = {
  t: 'totals',
  m: 'minute buckets',
  u: 'unique viewers',
  h: 'active hosts',
  r: 'leaderboards',
};

const USAGE = `usage: npm run bench:partitions -- [--events <n>] [--partitions <p,p,...>]
  --events      events per case (1000..500000, default 60000)
  --partitions  partition counts to compare (default 1,12,48)`;

interface CaseResult {
  partitions: number;
  events: number;
  scopes: number;
  keys: number;
  bytes: Record<string, number>;
  totalBytes: number;
  bytesPerScope: number;
  /** The scope every event counts in: its shares' bytes, all kinds. */
  allScopeBytes: number;
  readAllMs: number;
}

function parseArgs(argv: string[]): { events: number; partitions: number[] } {
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const events = Number(at('--events') ?? 60_000);
  const partitions = (at('--partitions') ?? '1,12,48').split(',').map(Number);
  if (
    argv.includes('--help') ||
    !Number.isInteger(events) ||
    events < 1_000 ||
    events > 500_000 ||
    !partitions.every((p) => Number.isInteger(p) && p >= 1 && p <= 256)
  ) {
    console.error(USAGE);
    process.exit(argv.includes('--help') ? 0 : 2);
  }
  return { events, partitions };
}

/** Deterministic events over the last hour: 1,000 streams of 300 hosts, 40k viewers, 12 cities. */
function eventsOf(count: number, now: number): LiveEvent[] {
  let seed = 12_345;
  const next = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
  return Array.from({ length: count }, (_, i) => {
    const stream = next(1_000);
    const base = {
      v: 1 as const,
      eventId: `e-${i}`,
      platform: ['douyin', 'taobao', 'kuaishou', 'jd'][stream % 4]!,
      streamId: `s-${stream}`,
      hostId: `h-${stream % 300}`,
      ts: now - next(3_600_000),
      city: `city-${stream % 12}`,
      district: `district-${stream % 40}`,
      category: `category-${stream % 9}`,
    };
    return next(10) < 8
      ? { ...base, type: 'view' as const, viewerId: `v-${next(40_000)}` }
      : {
          ...base,
          type: 'sale' as const,
          orderId: `o-${i}`,
          sku: `sku-${next(50)}`,
          quantity: 1 + next(3),
          amountFen: 100 + next(20_000),
        };
  });
}

/** The partition Kafka's default partitioner would pick is not needed: any stable hash of the key will do. */
function partitionOf(streamId: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < streamId.length; i++) h = (h * 31 + streamId.charCodeAt(i)) >>> 0;
  return h % partitions;
}

async function measureCase(
  redis: ReturnType<typeof benchRedis>,
  events: LiveEvent[],
  partitions: number,
  now: number,
): Promise<CaseResult> {
  const prefix = uniqueName('bench-parts');
  const store = new RedisCounterStore(redis, { prefix });
  const live = new LiveStateStore(redis, { prefix });
  try {
    const byPartition = Array.from({ length: partitions }, () => [] as LiveEvent[]);
    for (const e of events) byPartition[partitionOf(e.streamId, partitions)]!.push(e);
    for (const [partition, mine] of byPartition.entries()) {
      await live.markReady(TOPIC, partition, true);
      const { gen } = await store.takePartition(TOPIC, partition, 0);
      let offset = -1;
      for (let i = 0; i < mine.length; i += CHUNK) {
        const chunk = mine.slice(i, i + CHUNK);
        const planner = new BatchPlanner({ now });
        for (const e of chunk) planner.add(e);
        const outcome = await store.applyBatch({
          topic: TOPIC,
          partition,
          ownerGen: gen,
          expectedOffset: String(offset),
          newOffset: String(offset + chunk.length),
          deltas: planner.deltas(),
          live: planner.encodeLive(store.partitionKeys(TOPIC, partition)),
        });
        if (!outcome.applied) throw new Error(`partition ${partition}: batch not applied (${JSON.stringify(outcome)})`);
        offset += chunk.length;
      }
    }
    const bytes: Record<string, number> = Object.fromEntries(KINDS.map((k) => [KIND_NAMES[k], 0]));
    const scopes = new Set<string>();
    let keys = 0;
    let allScopeBytes = 0;
    for (const kind of KINDS) {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:${kind}:{*`, 'COUNT', 5_000);
        cursor = next;
        const pipeline = redis.pipeline();
        for (const key of found) pipeline.memory('USAGE', key, 'SAMPLES', 0);
        const replies = (await pipeline.exec()) ?? [];
        found.forEach((key, i) => {
          const size = Number(replies[i]![1]);
          bytes[KIND_NAMES[kind]]! += size;
          keys++;
          const scope = key.slice(key.indexOf('}:') + 2);
          if (kind === 't') scopes.add(scope);
          if (scope === 'all' || scope.startsWith('all:')) allScopeBytes += size;
        });
      } while (cursor !== '0');
    }
    const reader = new LiveStateReader(redis, prefix);
    const started = performance.now();
    await reader.measures(['all']);
    const readAllMs = performance.now() - started;
    const totalBytes = Object.values(bytes).reduce((a, b) => a + b, 0);
    return {
      partitions,
      events: events.length,
      scopes: scopes.size,
      keys,
      bytes,
      totalBytes,
      bytesPerScope: totalBytes / scopes.size,
      allScopeBytes,
      readAllMs,
    };
  } finally {
    await deletePrefix(redis, prefix);
  }
}

async function main(): Promise<void> {
  const { events: count, partitions } = parseArgs(process.argv.slice(2));
  const timer = setTimeout(() => {
    console.error(`partition-footprint: still running after ${HARD_LIMIT_MS / 1000} s, giving up`);
    process.exit(1);
  }, HARD_LIMIT_MS);
  timer.unref();
  const redis = benchRedis();
  try {
    const now = Date.now();
    const events = eventsOf(count, now);
    const results: CaseResult[] = [];
    for (const p of partitions) {
      const r = await measureCase(redis, events, p, now);
      results.push(r);
      const kinds = Object.entries(r.bytes)
        .map(([k, b]) => `${k} ${(b / 1024).toFixed(0)} KiB`)
        .join(', ');
      console.log(
        `${String(p).padStart(3)} partition(s): ${r.keys} keys, ${(r.totalBytes / 2 ** 20).toFixed(1)} MiB for ${r.scopes} scopes ` +
          `(${r.bytesPerScope.toFixed(0)} B/scope; ${kinds}); scope 'all' ${(r.allScopeBytes / 1024).toFixed(0)} KiB; ` +
          `measures(all) read ${r.readAllMs.toFixed(1)} ms`,
      );
    }
    const out = { machine: machine(), at: new Date(now).toISOString(), results };
    const file = join(ROOT, 'bench-results', 'partition-footprint.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    if (process.env.BENCH_RESULT_FILE)
      writeFileSync(process.env.BENCH_RESULT_FILE, `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    redis.disconnect();
  }
}

await main();
