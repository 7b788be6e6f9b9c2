import { describe, expect, it, vi } from 'vitest';
import type { LiveSnapshot, RawTotals } from '@livetally/live-state';
import { agrees, reconcile, type ReconcileDeps } from './reconcile';

const totals = (views: number) => ({
  views: String(views),
  sessions: '0',
  sessionsEnded: '0',
  salesFen: '0',
  refundsFen: '0',
  orders: '0',
  items: '0',
  refunds: '0',
  likes: '0',
});

/** The stores are durable through any cut here (tests/reconcile.test.ts waits for real ones). */
const waitUntilDurable = async () => undefined;

type Shares = Record<number, Record<string, number>>;
const sharesMap = (shares: Shares) =>
  new Map(
    Object.entries(shares).map(([p, scopes]) => [
      Number(p),
      new Map(Object.entries(scopes).map(([s, views]) => [s, totals(views)])),
    ]),
  );

/**
 * Redis as LiveStateStore.snapshot reads it: each partition's shares (views) of the
 * scopes asked for, on every partition (a list) or on the partitions named (a map).
 * `state` is called at each snapshot (shares and offsets as they are then).
 */
function fakeSnapshot(state: () => { shares: Shares; offsets: Record<number, number> }) {
  return vi.fn(
    async (
      _topic: string,
      scopes: readonly string[] | ReadonlyMap<number, readonly string[]>,
    ): Promise<LiveSnapshot> => {
      const now = state();
      const asked = (p: number) => (Array.isArray(scopes) ? scopes : ((scopes as Map<number, string[]>).get(p) ?? []));
      const shares = new Map<number, Map<string, RawTotals>>();
      const sums = new Map<string, number>();
      for (const p of Object.keys(now.offsets).map(Number)) {
        const own = new Map<string, RawTotals>();
        for (const s of asked(p)) {
          const views = now.shares[p]?.[s];
          own.set(s, views === undefined ? {} : { views: String(views) });
          if (views !== undefined) sums.set(s, (sums.get(s) ?? 0) + views);
        }
        shares.set(p, own);
      }
      const all = Array.isArray(scopes) ? scopes : [...new Set([...(scopes as Map<number, string[]>).values()].flat())];
      return {
        status: 'ready',
        offsets: new Map(Object.entries(now.offsets).map(([p, o]) => [Number(p), String(o)])),
        totals: new Map(all.map((s) => [s, sums.has(s) ? { views: String(sums.get(s)) } : {}])),
        shares,
      };
    },
  );
}

/** What a SCAN of the share keys finds: tag → scopes. */
const scanOf =
  (shares: Shares, topic = 't') =>
  async () =>
    new Map(Object.entries(shares).map(([p, scopes]) => [`${topic}/${p}`, new Set(Object.keys(scopes))]));

describe('reconcile', () => {
  it('disagrees when ClickHouse holds rows of a partition missing from the registry (ADR 0003)', async () => {
    const shares = { 0: { all: 5 } };
    const snapshot = fakeSnapshot(() => ({ shares, offsets: { 0: 9 } }));
    const r = await reconcile({
      live: { scanShares: scanOf(shares), snapshot, waitUntilDurable },
      history: {
        totalsByPartition: async () => sharesMap({ 0: { all: 5 } }),
        maxOffsets: async () =>
          new Map([
            [0, '9'],
            [2, '40'],
          ]),
      },
      topic: 't',
    });
    expect(r.comparison!.differences).toEqual([]);
    expect(r.unregisteredPartitions).toEqual([2]);
    expect(agrees(r)).toBe(false);
    // Checked once more against the registry: a partition registered since is not reported.
    expect(snapshot.mock.calls.at(-1)).toEqual(['t', []]);
  });

  it('compares each partition share with ClickHouse rows of that kafka_partition and names it (ADR 0003)', async () => {
    const shares = { 0: { all: 4 }, 1: { all: 2 } };
    const totalsByPartition = vi.fn(async () => sharesMap({ 0: { all: 4 }, 1: { all: 3 } }));
    const r = await reconcile({
      live: {
        scanShares: scanOf(shares),
        snapshot: fakeSnapshot(() => ({ shares, offsets: { 0: 9, 1: 19 } })),
        waitUntilDurable,
      },
      history: { totalsByPartition },
      topic: 't',
    });
    // Exactly the offsets of the atomic snapshot.
    expect(totalsByPartition).toHaveBeenCalledWith(
      't',
      new Map([
        [0, '9'],
        [1, '19'],
      ]),
    );
    expect(agrees(r)).toBe(false);
    expect(r.comparison!.differences).toMatchObject([
      {
        scope: 'all',
        fields: [{ field: 'views', live: '6', history: '7', delta: '-1' }],
        partitions: [{ partition: 1, fields: [{ field: 'views', live: '2', history: '3', delta: '-1' }] }],
      },
    ]);
    expect(r).toMatchObject({ clickhouseScopes: 1, redisScopes: 1, offsets: { '0': '9', '1': '19' } });
  });

  it("reads each partition's own scopes only, as the SCAN found them on the topic's partitions", async () => {
    const shares = { 0: { all: 2, 'stream:a': 2 }, 1: { all: 1, 'stream:b': 1 } };
    const snapshot = fakeSnapshot(() => ({ shares, offsets: { 0: 1, 1: 0 } }));
    const scanned = await scanOf(shares)();
    scanned.set('other/0', new Set(['stream:elsewhere']));
    const r = await reconcile({
      live: { scanShares: async () => scanned, snapshot, waitUntilDurable },
      history: { totalsByPartition: async () => sharesMap(shares) },
      topic: 't',
    });
    expect(snapshot.mock.calls[0]![1]).toEqual(
      new Map([
        [0, ['all', 'stream:a']],
        [1, ['all', 'stream:b']],
      ]),
    );
    expect(agrees(r)).toBe(true);
    expect(r).toMatchObject({ lateScopes: 0, redisScopes: 3, clickhouseScopes: 3 });
    expect(r.comparison).toMatchObject({ compared: 3, agreeing: 3 });
  });

  it('compares scopes that gained a share after the SCAN at a second cut of their own', async () => {
    let snapshots = 0;
    const scannedShares = { 0: { all: 1, 'host:h': 1 } };
    // By the first cut, host:h has a share on partition 1 too, and two new streams exist.
    const snapshot = fakeSnapshot(() => ({
      shares: { 0: { all: 1, 'host:h': 1, 'stream:new': snapshots === 0 ? 1 : 2 }, 1: { 'host:h': 1 } },
      offsets: { 0: 10 + snapshots++, 1: 5 },
    }));
    const totalsByPartition = vi.fn(async (_t: string, upTo: ReadonlyMap<number, string>, only?: readonly string[]) => {
      const newViews = Number(upTo.get(0)) - 9;
      const rows = sharesMap({
        0: { all: 1, 'host:h': 1, 'stream:new': newViews },
        1: { 'host:h': 1, 'stream:newer': 1 },
      });
      if (!only) return rows;
      return new Map([...rows].map(([p, m]) => [p, new Map([...m].filter(([s]) => only.includes(s)))]));
    });
    const r = await reconcile({
      live: { scanShares: scanOf(scannedShares), snapshot, waitUntilDurable },
      history: { totalsByPartition },
      topic: 't',
    });
    const late = ['host:h', 'stream:new', 'stream:newer'];
    expect(snapshot.mock.calls[1]![1]).toEqual(late);
    expect(totalsByPartition.mock.calls[1]).toEqual([
      't',
      new Map([
        [0, '11'],
        [1, '5'],
      ]),
      late,
    ]);
    // host:h and stream:new agree at the second cut; stream:newer has no Redis key there.
    expect(r.comparison!.compared).toBe(4);
    expect(r.comparison!.differences.map((d) => [d.scope, d.presence])).toEqual([['stream:newer', 'history-only']]);
    expect(r).toMatchObject({ lateScopes: 3, redisScopes: 3, offsets: { '0': '10', '1': '5' } });
  });

  it('does not compare without live state', async () => {
    const totalsByPartition = vi.fn();
    const r = await reconcile({
      live: {
        scanShares: async () => new Map(),
        snapshot: async () => ({ status: 'missing', offsets: new Map(), totals: new Map(), shares: new Map() }),
        waitUntilDurable,
      },
      history: { totalsByPartition },
      topic: 't',
    });
    expect(r).toMatchObject({ status: 'missing', comparison: null });
    expect(agrees(r)).toBe(false);
    expect(totalsByPartition).not.toHaveBeenCalled();
  });

  it('treats an empty Redis hash as a missing key', async () => {
    const r = await reconcile({
      live: {
        scanShares: scanOf({ 0: { 'host:h': 0 } }),
        snapshot: fakeSnapshot(() => ({ shares: {}, offsets: { 0: 1 } })),
        waitUntilDurable,
      },
      history: { totalsByPartition: async () => sharesMap({ 0: { 'host:h': 2 } }) },
      topic: 't',
    });
    expect(r.comparison!.differences).toMatchObject([{ scope: 'host:h', presence: 'history-only' }]);
  });

  describe('campaign scopes', () => {
    const def = (id: string) =>
      JSON.stringify({ id, startsAt: 1000, endsAt: 5000, filters: { districts: ['Futian'] } });
    const keys = { catalogue: 'p:campaigns', version: 'p:campaigns:version' };

    function deps(
      redisViews: () => Record<string, number>,
      historyViews: Record<string, number>,
      bodies = [def('month'), def('quiet')],
    ) {
      const snapshots: string[][] = [];
      const redis = fakeSnapshot(() => ({
        shares: { 0: { all: 5, ...redisViews() } },
        offsets: { 0: 10 + snapshots.length },
      }));
      const live: ReconcileDeps['live'] = {
        scanShares: scanOf({ 0: { all: 5, 'campaign:month': 0, 'campaign:orphan': 0 } }),
        waitUntilDurable,
        snapshot: vi.fn(
          async (
            t: string,
            scopes: readonly string[] | ReadonlyMap<number, readonly string[]>,
            catalogue?: { catalogue: string; version: string },
          ): Promise<LiveSnapshot> => {
            snapshots.push(Array.isArray(scopes) ? [...scopes] : [...scopes.values()].flat());
            const snap = await redis(t, scopes);
            return { ...snap, ...(catalogue ? { catalogue: { version: '3', bodies } } : {}) };
          },
        ),
      };
      const campaignTotals = vi.fn(
        async (sel: {
          scopes: string;
          scope?: string;
          slice?: { upTo: ReadonlyMap<number, string>; startsAt: number; filters: object };
        }) =>
          historyViews[sel.scope!] === undefined
            ? new Map()
            : new Map([[sel.scope!, totals(historyViews[sel.scope!]!)]]),
      );
      const d: ReconcileDeps = {
        live,
        history: { totalsByPartition: async () => sharesMap({ 0: { all: 5 } }) },
        campaigns: { keys, history: { totals: campaignTotals as never }, recheckMs: 5 },
        topic: 't',
        sleep: async () => undefined,
      };
      return { d, snapshots, campaignTotals };
    }

    it('compares every campaign of the catalogue at a cut of its own, with its definition', async () => {
      const { d, snapshots, campaignTotals } = deps(() => ({ 'campaign:month': 7, 'campaign:orphan': 1 }), {
        'campaign:month': 7,
      });
      const r = await reconcile(d);
      expect(agrees(r)).toBe(false); // campaign:orphan has a key but no campaign
      expect(r.comparison!.differences.map((x) => [x.scope, x.presence])).toEqual([['campaign:orphan', 'live-only']]);
      // Dimension cut without campaign scopes; campaign cut with the scanned ones, then the catalogue's others.
      expect(snapshots.slice(0, 3)).toEqual([['all'], ['campaign:month', 'campaign:orphan'], ['campaign:quiet']]);
      expect(campaignTotals.mock.calls[0]![0]).toMatchObject({
        scopes: 'campaign',
        scope: 'campaign:month',
        slice: {
          topic: 't',
          upTo: new Map([[0, '12']]),
          startsAt: 1000,
          endsAt: 5000,
          filters: { districts: ['Futian'] },
        },
      });
      expect(r).toMatchObject({
        kinds: ['all', 'city', 'district', 'category', 'platform', 'host', 'stream', 'campaign'],
        campaigns: 2,
      });
      expect(r.comparison!.skipped).toEqual([]);
      expect(r.comparison!.compared).toBe(4); // all, month, orphan, quiet (no rows, no key: agrees)
    });

    it('names a tampered campaign counter once it still differs at a fresh cut', async () => {
      const { d } = deps(() => ({ 'campaign:month': 8 }), { 'campaign:month': 7 }, [def('month')]);
      d.live.scanShares = scanOf({ 0: { all: 5, 'campaign:month': 0 } });
      const r = await reconcile(d);
      expect(r.campaignRechecks).toBe(1);
      expect(r.comparison!.differences).toMatchObject([
        { scope: 'campaign:month', fields: [{ field: 'views', live: '8', history: '7', delta: '+1' }] },
      ]);
      expect(r.comparison).toMatchObject({ compared: 2, agreeing: 1 });
    });

    it('does not report a campaign scope that was only in flux (a backfill finishing)', async () => {
      let reads = 0;
      const { d } = deps(() => ({ 'campaign:month': reads++ < 2 ? 2 : 7 }), { 'campaign:month': 7 }, [def('month')]);
      d.live.scanShares = scanOf({ 0: { all: 5, 'campaign:month': 0 } });
      const r = await reconcile(d);
      expect(agrees(r)).toBe(true);
      expect(r).toMatchObject({ campaignRechecks: 1, comparison: { compared: 2, agreeing: 2 } });
    });

    it('skips campaign scopes without the catalogue, as before', async () => {
      const { d } = deps(() => ({ 'campaign:month': 1, 'campaign:orphan': 1 }), {});
      delete d.campaigns;
      const r = await reconcile(d);
      expect(agrees(r)).toBe(true);
      expect(r.comparison!.skipped).toEqual([{ kind: 'campaign', scopes: 2 }]);
      expect(r.campaigns).toBeNull();
    });
  });
});
