import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globEscape } from '@livetally/live-state';
import { EventHistory, toEventRow } from '@livetally/history';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../services/simulator/src/dataset';
import { runCli } from './support/cli';
import { startRedis, type DedicatedService } from './support/dedicated';
import { createHistoryDatabase } from './support/gateway-history';
import { ingestEnv, uniqueName } from './support/stack';

/**
 * reconcile reads from Redis the shares that exist (each partition's own scope keys, as
 * the SCAN found them), not every scope on every partition. A stream's events all go to
 * its key's partition, so most scopes have a share on one partition only: on the
 * campaign month at scale 1 (452,189 scopes, 12 partitions) reading each scope on every
 * partition meant 5.4 million replies held at once, and reconcile ran out of a 4 GiB heap.
 * Its own Redis, so the command counts are reconcile's alone.
 */
const run = uniqueName('recr');
const topic = `lt.${run}`;
const PARTITIONS = 6;

const events: LiveEvent[] = buildDataset({
  seed: 31,
  count: 3_000,
  startTs: Date.now() - 3_600_000,
  spanMs: 3_600_000,
  hosts: 40,
}).flatMap((m) => (m.event ? [m.event] : []));

/** The partition a stream's events are produced to: a stable hash of its id, as a keyed producer's. */
const partitionOf = (streamId: string) => {
  let h = 0;
  for (const c of streamId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % PARTITIONS;
};

describe('reconcile: Redis reads', () => {
  let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
  let redisServer: DedicatedService;
  let redis: Redis;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createHistoryDatabase('recr', [], topic);
    const history = new EventHistory(db.client);
    const next = new Array<number>(PARTITIONS).fill(0);
    const rows = events.map((e) => {
      const partition = partitionOf(e.streamId);
      return toEventRow(e, { topic, partition, offset: String(next[partition]!++) });
    });
    await history.insertEvents(rows, `${topic}:all`);
    redisServer = await startRedis();
    redis = new Redis(redisServer.url);
    env = ingestEnv(
      { topic, group: run, prefix: run, database: db.database },
      { REDIS_URL: redisServer.url, REBUILD_GRACE_MS: '0', REBUILD_VERIFY: 'false' },
    );
    const rebuilt = await runCli('rebuild', ['--json'], env);
    expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await redis?.quit();
    await redisServer?.remove();
    await db?.drop();
  });

  async function shareKeys(): Promise<number> {
    let keys = 0;
    let cursor = '0';
    do {
      const [next, page] = await redis.scan(cursor, 'MATCH', `${globEscape(run)}:t:*`, 'COUNT', 1_000);
      keys += page.length;
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  async function hashReads(): Promise<number> {
    const stats = await redis.info('commandstats');
    const m = /cmdstat_hgetall:calls=(\d+)/.exec(stats);
    return m ? Number(m[1]) : 0;
  }

  it('agrees, reading each existing share once, not each scope on every partition', async () => {
    const keys = await shareKeys();
    const scopes = new Set<string>();
    for await (const page of redis.scanStream({ match: `${globEscape(run)}:t:*`, count: 1_000 }))
      for (const key of page as string[]) scopes.add(key.slice(key.indexOf('}:') + 2));
    // Most scopes are one stream's, on one partition: the test means something only if so.
    expect(keys).toBeLessThan((scopes.size * PARTITIONS) / 2);

    await redis.config('RESETSTAT');
    const result = await runCli('reconcile', ['--json'], env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { agree: boolean; comparison: { compared: number } };
    expect(out.agree).toBe(true);
    expect(out.comparison.compared).toBeGreaterThanOrEqual(scopes.size);
    expect(await hashReads()).toBeLessThanOrEqual(keys);
  }, 120_000);
});
