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
 * when more viewers are added. Per partition (ADR 0003): each partition's share is the
 * HyperLogLog of that partition's viewers, read at that partition's cut, so PFCOUNT over
 * the shares counts the viewers of all of them, as one key of every viewer would.
 */
const run = uniqueName('rbhll');
const topic = `lt.${run}`;
const KINDS = ['all', 'district', 'category', 'platform', 'host'] as const;
const PARTITIONS = [0, 1, 2];
const partitionOf = (i: number) => i % PARTITIONS.length;

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
  const keys = liveKeys(run);
  const viewers = (p: number, scope: string) => keys.partition(topic, p).viewers(scope);
  // One slot with the shares of a scope is not needed on a single Redis: PFCOUNT takes them all.
  const reference = (p: number | 'all', scope: string) => `${run}:ref:${p}:${scope}`;
  /** Per partition, per scope: the viewer ids of its views. */
  const referenceIds = new Map<number, Map<string, string[]>>(PARTITIONS.map((p) => [p, new Map()]));
  const scopesWithViewers = () => new Set([...referenceIds.values()].flatMap((m) => [...m.keys()]));
  const shares = (scope: string) => PARTITIONS.filter((p) => referenceIds.get(p)!.has(scope));

  beforeAll(async () => {
    db = await createHistoryDatabase('rbhll', [], topic);
    await new EventHistory(db.client).insertEvents(
      events.map((e, i) => toEventRow(e, { topic, partition: partitionOf(i), offset: String(i) })),
      `${topic}:all`,
    );
    redis = new Redis(STACK.redisUrl);
    events.forEach((e, i) => {
      if (e.type !== 'view' || !e.viewerId) return;
      const ofPartition = referenceIds.get(partitionOf(i))!;
      for (const s of scopesOf(e)) {
        if (!ofPartition.has(s)) ofPartition.set(s, []);
        ofPartition.get(s)!.push(e.viewerId);
      }
    });
    for (const [p, scopes] of referenceIds)
      for (const [scope, ids] of scopes) {
        await redis.pfadd(reference(p, scope), ...ids);
        await redis.pfadd(reference('all', scope), ...ids);
      }

    // As the rebuild does: each partition from its own rows at its cut, by its own writer.
    const history = new LiveHistory(db.client);
    const cut = await new EventHistory(db.client).maxOffsets(topic);
    for (const p of PARTITIONS) {
      const writer = new LiveMeasureWriter(redis, run).partition(topic, p);
      const upTo = new Map([[p, cut.get(p)!]]);
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
    }
  });

  afterAll(async () => {
    const keys = await redis.keys(`${globEscape(run)}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis?.quit();
    await db?.drop();
  });

  it('writes a HyperLogLog share for every partition and scope with viewers, and none for others', async () => {
    const written = await redis.keys(`${globEscape(run)}:u:*`);
    const expected = [...referenceIds].flatMap(([p, scopes]) => [...scopes.keys()].map((s) => viewers(p, s)));
    expect(written.sort()).toEqual(expected.sort());
    expect(scopesWithViewers().size).toBeGreaterThan(30);
    for (const p of PARTITIONS) expect(referenceIds.get(p)!.get('all')!.length).toBeGreaterThan(700);
  });

  it('holds, per partition, the registers and the estimate PFADD gives, sparse where PFADD keeps it sparse', async () => {
    let sparse = 0;
    for (const [p, scopes] of referenceIds)
      for (const scope of scopes.keys()) {
        const [mine, theirs] = [viewers(p, scope), reference(p, scope)];
        const [myValue, theirValue] = await Promise.all([redis.getBuffer(mine), redis.getBuffer(theirs)]);
        if (theirValue![4] === 1) {
          // PFADD's sparse value; the rebuild's is the shortest spelling of the same registers.
          expect(myValue![4], mine).toBe(1);
          expect(myValue!.length, mine).toBeLessThanOrEqual(theirValue!.length);
          sparse++;
        }
        expect(await redis.pfcount(mine), mine).toBe(await redis.pfcount(theirs));
        expect(await redis.call('PFDEBUG', 'GETREG', mine), mine).toEqual(
          await redis.call('PFDEBUG', 'GETREG', theirs),
        );
      }
    expect(sparse).toBeGreaterThan(20); // the host scopes
    expect((await redis.getBuffer(viewers(0, 'all')))![4]).toBe(0); // dense, as PFADD made it
  });

  it('counts, over the shares of a scope, what one HyperLogLog of every viewer counts', async () => {
    for (const scope of scopesWithViewers()) {
      const merged = await redis.pfcount(...shares(scope).map((p) => viewers(p, scope)));
      expect(merged, scope).toBe(await redis.pfcount(reference('all', scope)));
    }
  });

  it('goes on like a PFADDed HyperLogLog when more viewers come', async () => {
    const more = Array.from({ length: 3_000 }, (_, i) => `late-${i}`);
    for (const scope of ['all', CAMPAIGN, `host:${events[0]!.hostId}`]) {
      await redis.pfadd(viewers(0, scope), ...more);
      await redis.pfadd(reference(0, scope), ...more);
      expect(await redis.pfcount(viewers(0, scope)), scope).toBe(await redis.pfcount(reference(0, scope)));
      expect(await redis.call('PFDEBUG', 'GETREG', viewers(0, scope)), scope).toEqual(
        await redis.call('PFDEBUG', 'GETREG', reference(0, scope)),
      );
    }
  });
});
