import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventDeduplicator, globEscape } from '@livetally/live-state';
import { EventHistory, toEventRow } from '@livetally/history';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../services/simulator/src/dataset';
import { runCli } from './support/cli';
import { createHistoryDatabase } from './support/gateway-history';
import { STACK, ingestEnv, uniqueName } from './support/stack';

/**
 * The rebuild restores the resend fingerprints of the rows stored within the window
 * before the newest stored row, not before now: how many that is depends on the ingest
 * rate and the window, not on how long the rows have been waiting for the rebuild.
 * Two batches are stored 2 s apart and the rebuild runs 2 s after the second: a 1 s
 * window restores exactly the second batch (anchored at now it would restore nothing),
 * the default window both.
 */
const run = uniqueName('rbfp');
const topic = `lt.${run}`;
const GAP_MS = 2_000;

const events: LiveEvent[] = buildDataset({
  seed: 7,
  count: 1_200,
  startTs: Date.now() - 3_600_000,
  spanMs: 3_600_000,
  hosts: 20,
}).flatMap((m) => (m.event ? [m.event] : []));
const [older, newer] = [events.slice(0, 700), events.slice(700)];

describe('rebuild: resend fingerprints', () => {
  let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
  let redis: Redis;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createHistoryDatabase('rbfp', [], topic);
    const history = new EventHistory(db.client);
    const rows = (batch: LiveEvent[], first: number) =>
      batch.map((e, i) => toEventRow(e, { topic, partition: 0, offset: String(first + i) }));
    await history.insertEvents(rows(older, 0), `${topic}:0:0`);
    await new Promise((r) => setTimeout(r, GAP_MS));
    await history.insertEvents(rows(newer, older.length), `${topic}:0:${older.length}`);
    await new Promise((r) => setTimeout(r, GAP_MS));
    redis = new Redis(STACK.redisUrl);
    env = ingestEnv(
      { topic, group: run, prefix: run, database: db.database },
      { REBUILD_GRACE_MS: '0', REBUILD_VERIFY: 'false' },
    );
  });

  afterAll(async () => {
    const keys = await redis.keys(`${globEscape(run)}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis?.quit();
    await db?.drop();
  });

  const rebuild = async (extra: Record<string, string>) => {
    const r = await runCli('rebuild', ['--json'], { ...env, ...extra });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { fingerprints: number };
  };

  /** Whether a resend of the event would be recognised: the claim of its stored copy is there. */
  const claimed = async (e: LiveEvent) => {
    const dedup = new EventDeduplicator(redis, { prefix: run, windowSeconds: 3_600, bucketsPerHour: 4_096 });
    // A resend lands on the partition its stored copy was read from (its fingerprints are that partition's), at a later offset.
    const [first] = await dedup.claim([
      { topic, platform: e.platform, eventId: e.eventId, ts: e.ts, partition: 0, offset: '999999' },
    ]);
    return first === false;
  };

  it('restores the rows stored within the window before the newest stored row', async () => {
    expect((await rebuild({ REBUILD_FINGERPRINT_WINDOW_MS: '1000' })).fingerprints).toBe(newer.length);
    expect(await claimed(newer.at(-1)!)).toBe(true);
    expect(await claimed(older[0]!)).toBe(false);
  });

  it('restores the whole dedup window by default', async () => {
    expect((await rebuild({})).fingerprints).toBe(events.length);
  });
});
