import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveMeasureWriter, globEscape, liveKeys } from '@livetally/live-state';
import { EventHistory, LiveHistory, toEventRow, type LiveSelection } from '@livetally/history';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../services/simulator/src/dataset';
import { createHistoryDatabase } from './support/gateway-history';
import { STACK, uniqueName } from './support/stack';

/**
 * The rebuild writes each unique-viewer HyperLogLog whole, from registers ClickHouse
 * computes (MurmurHash64A with Redis's seed, spelled out in SQL), instead of PFADDing
 * every (scope, viewer) pair. What it writes must be what PFADD leaves: for every scope
 * of several kinds and for a campaign, the registers (PFDEBUG GETREG) and the estimate
 * equal those of a key built here with Redis's own PFADD from the same viewer ids (ids
 * of every length around the 8-byte blocks, multi-byte UTF-8, repeats, and views that
 * name nobody); small scopes stay sparse as PFADD keeps them; and both keys go on alike
 * when more viewers are added.
 */
const run = uniqueName('rbhll');
const topic = `lt.${run}`;
const KINDS = ['all', 'district', 'category', 'platform', 'host'] as const;

/** Viewer ids of many shapes: 0-40 bytes, across the 8-byte block boundaries, UTF-8, and repeats. */
function viewerIdOf(i: number): string {
  const n = i % 2_000; // repeats: the same viewer in several views
  switch (i % 7) {
    case 0:
      return `v${n}`;
    case 1:
      return `${'ü'.repeat(n % 6)}${n}`;
    case 2:
      return `viewer-${n}-${'x'.repeat(n % 23)}`;
    case 3:
      return `中文${n}`;
    case 4:
      return String(n).padStart(8, '0');
    case 5:
      return String(n).padStart(16, '7');
    default:
      return n % 5 === 0 ? '' : `${n}`; // '' names nobody: not a viewer
  }
}

const events: LiveEvent[] = buildDataset({
  seed: 31,
  count: 8_000,
  startTs: Date.parse('2024-09-01T00:00:00Z'),
  spanMs: 86_400_000,
  hosts: 30,
})
  .flatMap((m) => (m.event ? [m.event] : []))
  .map((e, i) => (e.type === 'view' ? { ...e, viewerId: viewerIdOf(i) } : e));
const districts = [...new Set(events.map((e) => e.district))].sort().slice(0, 2);
const CAMPAIGN = 'campaign:hll';
const window = { startsAt: Date.parse('2024-09-01T06:00:00Z'), endsAt: Date.parse('2024-09-01T18:00:00Z') };

/** The scopes a view counts its viewer in, computed here from the event's fields. */
function scopesOf(e: LiveEvent): string[] {
  const scopes = [
    'all',
    `district:${e.district}`,
    `category:${e.category}`,
    `platform:${e.platform}`,
    `host:${e.hostId}`,
  ];
  if (districts.includes(e.district) && e.ts >= window.startsAt && e.ts < window.endsAt) scopes.push(CAMPAIGN);
  return scopes;
}

describe('rebuild: unique-viewer HyperLogLogs from ClickHouse registers', () => {
  let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
  let redis: Redis;
  const viewers = liveKeys(run).viewers;
  const reference = (scope: string) => `${run}:ref:{${scope}}`;
  const referenceIds = new Map<string, string[]>();

  beforeAll(async () => {
    db = await createHistoryDatabase('rbhll', [], topic);
    await new EventHistory(db.client).insertEvents(
      events.map((e, i) => toEventRow(e, { topic, partition: i % 3, offset: String(i) })),
      `${topic}:all`,
    );
    redis = new Redis(STACK.redisUrl);
    for (const e of events) {
      if (e.type !== 'view' || !e.viewerId) continue;
      for (const s of scopesOf(e)) {
        if (!referenceIds.has(s)) referenceIds.set(s, []);
        referenceIds.get(s)!.push(e.viewerId);
      }
    }
    for (const [scope, ids] of referenceIds) await redis.pfadd(reference(scope), ...ids);

    const history = new LiveHistory(db.client);
    const writer = new LiveMeasureWriter(redis, run);
    const upTo = await new EventHistory(db.client).maxOffsets(topic);
    const selections: LiveSelection[] = [
      { scopes: 'dimensions', topic, upTo, kinds: KINDS },
      { scopes: 'campaign', scope: CAMPAIGN, slice: { topic, upTo, ...window, filters: { districts } } },
    ];
    for (const sel of selections)
      await history.forEachViewerHyperLogLog(
        sel,
        7,
        async (rows) => void (await writer.setHyperLogLogs('viewers', rows)),
      );
  });

  afterAll(async () => {
    const keys = await redis.keys(`${globEscape(run)}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis?.quit();
    await db?.drop();
  });

  it('writes a HyperLogLog for every scope with viewers, and none for others', async () => {
    const written = await redis.keys(`${globEscape(run)}:u:*`);
    expect(written.sort()).toEqual([...referenceIds.keys()].map(viewers).sort());
    expect(referenceIds.size).toBeGreaterThan(30);
    expect(referenceIds.get('all')!.length).toBeGreaterThan(2_000);
  });

  it('holds the registers and the estimate PFADD gives, sparse where PFADD keeps it sparse', async () => {
    let sparse = 0;
    for (const scope of referenceIds.keys()) {
      const [mine, theirs] = [viewers(scope), reference(scope)];
      const [myValue, theirValue] = await Promise.all([redis.getBuffer(mine), redis.getBuffer(theirs)]);
      if (theirValue![4] === 1) {
        // PFADD's sparse value; the rebuild's is the shortest spelling of the same registers.
        expect(myValue![4], scope).toBe(1);
        expect(myValue!.length, scope).toBeLessThanOrEqual(theirValue!.length);
        sparse++;
      }
      expect(await redis.pfcount(mine), scope).toBe(await redis.pfcount(theirs));
      expect(await redis.call('PFDEBUG', 'GETREG', mine), scope).toEqual(await redis.call('PFDEBUG', 'GETREG', theirs));
    }
    expect(sparse).toBeGreaterThan(20); // the host scopes
    expect((await redis.getBuffer(viewers('all')))![4]).toBe(0); // dense, as PFADD made it
  });

  it('goes on like a PFADDed HyperLogLog when more viewers come', async () => {
    const more = Array.from({ length: 3_000 }, (_, i) => `late-${i}`);
    for (const scope of ['all', CAMPAIGN, `host:${events[0]!.hostId}`]) {
      await redis.pfadd(viewers(scope), ...more);
      await redis.pfadd(reference(scope), ...more);
      expect(await redis.pfcount(viewers(scope)), scope).toBe(await redis.pfcount(reference(scope)));
      expect(await redis.call('PFDEBUG', 'GETREG', viewers(scope)), scope).toEqual(
        await redis.call('PFDEBUG', 'GETREG', reference(scope)),
      );
    }
  });
});
