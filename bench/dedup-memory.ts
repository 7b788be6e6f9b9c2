/**
 * npm run bench:dedup — Redis memory of the resend fingerprints at realistic bucket sizes.
 *
 *   npm run bench:dedup -- [--events 500000] [--quick]
 *
 * A bucket holds one event hour's share of one Kafka partition's fingerprints (ADR 0003):
 * rate ÷ partitions × 3600 ÷ INGEST_DEDUP_BUCKETS_PER_HOUR (at the default 4,096 buckets and
 * 12 partitions: ~730 entries at 10k events/s, ~7.3k at 100k events/s), and
 * Redis stores a hash compactly (listpack) only up to hash-max-listpack-entries. So each
 * case fills `events` fingerprints of one hour through the workers' own claim script
 * (EventDeduplicator.claim) with the bucket count that gives its bucket size, then reads
 * MEMORY USAGE (SAMPLES 0: every entry) of every bucket, INFO used_memory before and after,
 * the buckets' encoding and the Redis time per claim. It uses a fresh key prefix and
 * deletes its keys after each case, also on failure. Prints one line per case and the
 * memory of a window at 10k and 100k events/s, and writes bench-results/dedup-memory.json
 * (and $BENCH_RESULT_FILE when set). Needs the stack: `bash infra/stack.sh up`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EventDeduplicator, type ClaimInput } from '@livetally/live-state';
import { machine } from './lib/environment';
import { benchRedis, deletePrefix } from './lib/stores';
import { ROOT, uniqueName } from './lib/stack';

const HOUR_MS = 3_600_000;
const CLAIM_BATCH = 5_000;
// Everything ends by then, whatever the arguments.
const HARD_LIMIT_MS = 300_000;
const DEFAULT_BUCKETS_PER_HOUR = 4_096;
const RATES = [10_000, 100_000] as const;
/** The topic's partitions in the rate cases (the default topic's). */
const TOPIC_PARTITIONS = 12;

const USAGE = `usage: npm run bench:dedup -- [--events <n>] [--quick] [--sizes <n>[,<n>…]]
  --events  fingerprints per case (10000..2000000, default 500000; with --quick 100000)
  --sizes   more cases: these bucket sizes (fingerprints per bucket, 1..100000), after the standard three
Fills a fresh key prefix of the local Redis (REDIS_URL, default redis://127.0.0.1:6379) through the
workers' claim script, prints bytes per fingerprint at each bucket size, deletes its keys and writes
bench-results/dedup-memory.json (and $BENCH_RESULT_FILE).`;

interface CaseResult {
  label: string;
  bucketsPerHour: number;
  entriesPerBucket: number;
  encoding: string;
  fingerprints: number;
  bucketBytes: number;
  usedMemoryDelta: number;
  bytesPerFingerprint: number;
  usedMemoryBytesPerFingerprint: number;
  redisMicrosPerClaim: number;
}

function parseArgs(argv: string[]): { events: number; sizes: number[] } {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--events');
  const events = at >= 0 ? Number(argv[at + 1]) : quick ? 100_000 : 500_000;
  const sizesAt = argv.indexOf('--sizes');
  const sizes =
    sizesAt >= 0
      ? String(argv[sizesAt + 1])
          .split(',')
          .map(Number)
      : [];
  const badSize = sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000);
  if (argv.includes('--help') || !Number.isInteger(events) || events < 10_000 || events > 2_000_000 || badSize) {
    console.error(USAGE);
    process.exit(argv.includes('--help') ? 0 : 2);
  }
  return { events, sizes };
}

async function usedMemory(redis: ReturnType<typeof benchRedis>): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

function claimsOf(start: number, count: number, hour: number): ClaimInput[] {
  return Array.from({ length: count }, (_, j) => {
    const i = start + j;
    // Event ids as platforms send them; offsets as a busy topic has them (owner stored as one integer).
    // One Kafka partition: buckets are per partition (ADR 0003), so a case's bucket size is per partition too.
    return {
      topic: 'bench',
      platform: 'douyin',
      eventId: `evt-${hour}-${i.toString(36)}-${((i * 2_654_435_761) >>> 0).toString(16)}`,
      ts: hour * HOUR_MS + (i % HOUR_MS),
      partition: 0,
      offset: String(10_000_000_000 + i),
    };
  });
}

async function measureCase(
  redis: ReturnType<typeof benchRedis>,
  label: string,
  events: number,
  entriesPerBucket: number,
): Promise<CaseResult> {
  const prefix = uniqueName('bench-dd');
  const bucketsPerHour = Math.max(1, Math.round(events / entriesPerBucket));
  const dedup = new EventDeduplicator(redis, { prefix, windowSeconds: 3_600, bucketsPerHour });
  const hour = Math.floor(Date.now() / HOUR_MS);
  try {
    const before = await usedMemory(redis);
    let claimMs = 0;
    for (let i = 0; i < events; i += CLAIM_BATCH) {
      const batch = claimsOf(i, Math.min(CLAIM_BATCH, events - i), hour);
      const started = performance.now();
      const firsts = await dedup.claim(batch);
      claimMs += performance.now() - started;
      if (firsts.some((first) => !first)) throw new Error(`${label}: a fresh event was taken for a resend`);
    }
    const after = await usedMemory(redis);
    const keys = (await redis.keys(`${prefix}:dd:*`)).sort();
    let bucketBytes = 0;
    for (const key of keys) bucketBytes += Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
    const encoding = String(await redis.object('ENCODING', keys[0]!));
    return {
      label,
      bucketsPerHour,
      entriesPerBucket: Math.round(events / keys.length),
      encoding,
      fingerprints: events,
      bucketBytes,
      usedMemoryDelta: after - before,
      bytesPerFingerprint: bucketBytes / events,
      usedMemoryBytesPerFingerprint: (after - before) / events,
      redisMicrosPerClaim: (claimMs * 1000) / events,
    };
  } finally {
    await deletePrefix(redis, prefix);
  }
}

/** Fingerprints alive at once: a bucket expires a window after its hour's last write, so up to window + 1 h of events. */
function windowGiB(rate: number, windowSeconds: number, bytesPerFingerprint: number): number {
  return (rate * (windowSeconds + 3_600) * bytesPerFingerprint) / 2 ** 30;
}

async function main(): Promise<void> {
  const { events, sizes } = parseArgs(process.argv.slice(2));
  const timer = setTimeout(() => {
    console.error(`dedup-memory: still running after ${HARD_LIMIT_MS / 1000} s, giving up`);
    process.exit(1);
  }, HARD_LIMIT_MS);
  timer.unref();
  const redis = benchRedis();
  try {
    const [, listpackEntries] = (await redis.config('GET', 'hash-max-listpack-entries')) as string[];
    const [, version] = /redis_version:(\S+)/.exec(await redis.info('server'))!;
    const listpackMax = Number(listpackEntries);
    const plan: [string, number][] = [
      [`listpack (${Math.floor(listpackMax * 0.8)} per bucket)`, Math.floor(listpackMax * 0.8)],
      ...RATES.map((rate): [string, number] => [
        `${rate / 1000}k events/s over ${TOPIC_PARTITIONS} partitions at ${DEFAULT_BUCKETS_PER_HOUR} buckets/h`,
        Math.round((rate * 3_600) / TOPIC_PARTITIONS / DEFAULT_BUCKETS_PER_HOUR),
      ]),
      ...sizes.map((size): [string, number] => [`${size} per bucket`, size]),
    ];
    console.log(
      `Redis ${version}, hash-max-listpack-entries ${listpackMax}; ${events.toLocaleString('en')} fingerprints per case`,
    );
    const cases: CaseResult[] = [];
    for (const [label, entriesPerBucket] of plan) {
      const r = await measureCase(redis, label, events, Math.min(entriesPerBucket, events));
      cases.push(r);
      console.log(
        `${r.label}: ${r.entriesPerBucket.toLocaleString('en')} per bucket (${r.encoding}), ` +
          `${r.bytesPerFingerprint.toFixed(1)} B/fingerprint by MEMORY USAGE, ` +
          `${r.usedMemoryBytesPerFingerprint.toFixed(1)} B by used_memory, ${r.redisMicrosPerClaim.toFixed(2)} µs per claim`,
      );
    }
    const projections = RATES.flatMap((rate, i) => {
      const atDefault = cases[i + 1]!;
      return [3_600, 86_400].map((windowSeconds) => ({
        rate,
        windowSeconds,
        bucketsPerHour: DEFAULT_BUCKETS_PER_HOUR,
        bytesPerFingerprint: atDefault.usedMemoryBytesPerFingerprint,
        gib: windowGiB(rate, windowSeconds, atDefault.usedMemoryBytesPerFingerprint),
        listpackBucketsPerHour: Math.ceil((rate * 3_600) / TOPIC_PARTITIONS / cases[0]!.entriesPerBucket),
        listpackGib: windowGiB(rate, windowSeconds, cases[0]!.usedMemoryBytesPerFingerprint),
      }));
    });
    for (const p of projections)
      console.log(
        `${p.rate / 1000}k events/s, window ${p.windowSeconds / 3600} h (fingerprints of up to ${p.windowSeconds / 3600 + 1} h alive): ` +
          `${p.gib.toFixed(1)} GiB at ${p.bucketsPerHour} buckets/h; ${p.listpackGib.toFixed(1)} GiB at ${p.listpackBucketsPerHour.toLocaleString('en')} buckets/h (listpack)`,
      );
    const summary = {
      date: new Date().toISOString(),
      machine: machine(),
      redis: { version, listpackMax },
      cases,
      projections,
    };
    for (const file of [join(ROOT, 'bench-results', 'dedup-memory.json'), process.env.BENCH_RESULT_FILE].filter(
      (f): f is string => Boolean(f),
    )) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
    }
  } finally {
    redis.disconnect();
  }
}

await main();
