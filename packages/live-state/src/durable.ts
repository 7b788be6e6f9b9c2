import { readGrouped } from './cluster/grouped-pipeline';
import type { AnyRedis } from './cluster/redis-client';

/** ClickHouse did not catch up with Redis in time: the listed partitions are durable only up to an earlier offset. */
export class NotDurableError extends Error {
  constructor(readonly behind: ReadonlyMap<number, { applied: string; durable: string }>) {
    super(
      `ClickHouse does not hold every applied event yet (partition: durable/applied ${[...behind].map(([p, o]) => `${p}: ${o.durable}/${o.applied}`).join(', ')}); ` +
        'the workers write the rest within INGEST_FLUSH_MS, or when a worker takes the partition again (is ingest running?)',
    );
    this.name = 'NotDurableError';
  }
}

/**
 * Waits until both stores hold every partition through the given offsets (the
 * `durable:<p>` fields of each partition's offsets hash, `offsetsKey(p)`, reach them): live state is applied before its
 * rows reach ClickHouse, so whatever reads ClickHouse at a Redis cut waits for this first.
 */
export async function waitUntilDurable(
  redis: AnyRedis,
  offsetsKey: (partition: number) => string,
  upTo: ReadonlyMap<number, string>,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const partitions = [...upTo.keys()];
    const durables = await readGrouped<string | null>(
      redis,
      partitions.map((p) => ({ key: offsetsKey(p), queue: (pipe) => void pipe.hget(offsetsKey(p), `durable:${p}`) })),
    );
    const behind = new Map<number, { applied: string; durable: string }>();
    for (const [i, partition] of partitions.entries()) {
      const applied = upTo.get(partition)!;
      const durable = durables[i] ?? '-1';
      if (BigInt(durable) < BigInt(applied)) behind.set(partition, { applied, durable });
    }
    if (behind.size === 0) return;
    if (Date.now() >= deadline) throw new NotDurableError(behind);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}
