/**
 * What both bare consumers (bare-consumer.ts, bare-consumer-confluent.ts) share: their
 * settings from the environment, the eachBatch body (JSON.parse of every value, nothing
 * else), the timing and the messages to bench/scenarios/ceiling.ts.
 */
export const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};

export const send = (m: unknown) => process.send?.(m);

export interface BareSettings {
  topic: string;
  group: string;
  brokers: string[];
  maxBytesPerPartition: number;
  concurrency: number;
}

export function bareSettings(): BareSettings {
  return {
    topic: env('BENCH_TOPIC'),
    group: env('BENCH_GROUP'),
    brokers: env('KAFKA_BROKERS', '127.0.0.1:9092').split(','),
    maxBytesPerPartition: Number(env('BENCH_MAX_BYTES_PER_PARTITION', '1048576')),
    concurrency: Number(env('BENCH_CONCURRENCY', '4')),
  };
}

/**
 * Counts parsed messages until BENCH_EXPECTED are in (or BENCH_TIMEOUT_MS passes),
 * reporting progress every second; `run` starts the consumer with the given eachBatch.
 * Sends the result (plus `client`) to the parent.
 */
export async function measureBare(
  run: (eachBatch: (messages: readonly { value: Buffer | null }[]) => void) => Promise<void>,
  client?: Record<string, unknown>,
): Promise<void> {
  const expected = Number(env('BENCH_EXPECTED'));
  const timeoutMs = Number(env('BENCH_TIMEOUT_MS', '180000'));
  let consumed = 0;
  let firstAt = 0;
  let firstCount = 0;
  let lastAt = 0;
  let batches = 0;
  let parseErrors = 0;
  let finish!: (reason: string) => void;
  const finished = new Promise<string>((r) => (finish = r));
  const startedAt = performance.now();
  await run((messages) => {
    for (const m of messages) {
      try {
        JSON.parse(m.value!.toString('utf8'));
      } catch {
        parseErrors++;
      }
    }
    consumed += messages.length;
    batches++;
    const now = performance.now();
    if (firstAt === 0) {
      firstAt = now;
      firstCount = consumed;
      // The parent's CPU window starts here, where the rate's span does: a fast round ends
      // before the first once-a-second progress, and its CPU was not measured at all.
      send({ type: 'progress', consumed });
    }
    lastAt = now;
    if (consumed >= expected) finish('complete');
  });
  const progress = setInterval(() => send({ type: 'progress', consumed }), 1000);
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  const reason = await finished;
  clearInterval(progress);
  clearTimeout(timer);
  const seconds = (lastAt - firstAt) / 1000;
  send({
    type: 'result',
    reason,
    consumed,
    batches,
    parseErrors,
    firstBatchAfterS: (firstAt - startedAt) / 1000,
    seconds,
    eventsPerSec: seconds > 0 ? (consumed - firstCount) / seconds : NaN,
    ...(client ? { client } : {}),
  });
}
