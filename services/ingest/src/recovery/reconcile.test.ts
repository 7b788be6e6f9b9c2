import { describe, expect, it, vi } from 'vitest';
import type { LiveSnapshot } from '@livetally/live-state';
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

describe('reconcile', () => {
  it('disagrees when ClickHouse holds rows of a partition missing from the registry (ADR 0003)', async () => {
    const snapshot = vi.fn(async (_t: string, scopes: readonly string[]): Promise<LiveSnapshot> => ({
      status: 'ready',
      offsets: new Map([[0, '9']]),
      totals: new Map(scopes.map((s) => [s, { views: '5' }])),
    }));
    const r = await reconcile({
      live: { scanScopes: async () => ['all'], snapshot, waitUntilDurable },
      history: {
        totalsByScope: async () => new Map([['all', totals(5)]]),
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
    const snapshot = vi.fn(async (_t: string, scopes: readonly string[]): Promise<LiveSnapshot> => ({
      status: 'ready',
      offsets: new Map([
        [0, '9'],
        [1, '19'],
      ]),
      totals: new Map(scopes.map((s) => [s, { views: '6' }])),
      shares: new Map([
        [0, new Map(scopes.map((s) => [s, { views: '4' }]))],
        [1, new Map(scopes.map((s) => [s, { views: '2' }]))],
      ]),
    }));
    const totalsByScope = vi.fn();
    const totalsByPartition = vi.fn(
      async () =>
        new Map([
          [0, new Map([['all', totals(4)]])],
          [1, new Map([['all', totals(3)]])],
        ]),
    );
    const r = await reconcile({
      live: { scanScopes: async () => ['all'], snapshot, waitUntilDurable },
      history: { totalsByScope, totalsByPartition },
      topic: 't',
    });
    expect(totalsByScope).not.toHaveBeenCalled();
    expect(totalsByPartition).toHaveBeenCalledWith(
      't',
      new Map([
        [0, '9'],
        [1, '19'],
      ]),
      undefined,
    );
    expect(agrees(r)).toBe(false);
    expect(r.comparison!.differences).toMatchObject([
      {
        scope: 'all',
        fields: [{ field: 'views', live: '6', history: '7', delta: '-1' }],
        partitions: [{ partition: 1, fields: [{ field: 'views', live: '2', history: '3', delta: '-1' }] }],
      },
    ]);
    expect(r).toMatchObject({ clickhouseScopes: 1, redisScopes: 1 });
  });

  it('asks ClickHouse for exactly the offsets of the atomic snapshot', async () => {
    const snapshot = vi.fn(async (_t: string, scopes: readonly string[]): Promise<LiveSnapshot> => ({
      status: 'ready',
      offsets: new Map([[1, '99']]),
      totals: new Map(scopes.map((s) => [s, { views: '5' }])),
    }));
    const totalsByScope = vi.fn(async () => new Map([['all', totals(5)]]));
    const r = await reconcile({
      live: { scanScopes: async () => ['all'], snapshot, waitUntilDurable },
      history: { totalsByScope },
      topic: 't',
    });
    expect(totalsByScope).toHaveBeenCalledWith('t', new Map([[1, '99']]));
    expect(agrees(r)).toBe(true);
    expect(r).toMatchObject({ lateScopes: 0, offsets: { '1': '99' }, redisScopes: 1, clickhouseScopes: 1 });
  });

  it('compares scopes created after the SCAN at a second cut of their own', async () => {
    let offset = 10;
    const snapshot = vi.fn(async (_t: string, scopes: readonly string[]): Promise<LiveSnapshot> => ({
      status: 'ready',
      offsets: new Map([[0, String(offset++)]]),
      totals: new Map(scopes.map((s) => [s, s === 'stream:newer' ? {} : { views: s === 'stream:new' ? '2' : '1' }])),
    }));
    const totalsByScope = vi.fn(async (_t: string, upTo: ReadonlyMap<number, string>, only?: readonly string[]) =>
      only
        ? new Map(only.map((s) => [s, totals(Number(upTo.get(0)) - 9)]))
        : new Map([
            ['all', totals(1)],
            ['stream:new', totals(1)],
            ['stream:newer', totals(1)],
          ]),
    );
    const r = await reconcile({
      live: { scanScopes: async () => ['all'], snapshot, waitUntilDurable },
      history: { totalsByScope },
      topic: 't',
    });
    expect(snapshot.mock.calls.map((c) => c[1])).toEqual([['all'], ['stream:new', 'stream:newer']]);
    expect(totalsByScope.mock.calls[1]).toEqual(['t', new Map([[0, '11']]), ['stream:new', 'stream:newer']]);
    // stream:new agrees at the second cut (2 = 2); stream:newer has no Redis key there.
    expect(r.comparison!.compared).toBe(3);
    expect(r.comparison!.differences.map((d) => [d.scope, d.presence])).toEqual([['stream:newer', 'history-only']]);
    expect(r).toMatchObject({ lateScopes: 2, redisScopes: 2, offsets: { '0': '10' } });
  });

  it('does not compare without live state', async () => {
    const totalsByScope = vi.fn();
    const r = await reconcile({
      live: {
        scanScopes: async () => [],
        snapshot: async () => ({ status: 'missing', offsets: new Map(), totals: new Map() }),
        waitUntilDurable,
      },
      history: { totalsByScope },
      topic: 't',
    });
    expect(r).toMatchObject({ status: 'missing', comparison: null });
    expect(agrees(r)).toBe(false);
    expect(totalsByScope).not.toHaveBeenCalled();
  });

  it('treats an empty Redis hash as a missing key', async () => {
    const deps: ReconcileDeps = {
      live: {
        scanScopes: async () => ['host:h'],
        snapshot: async () => ({ status: 'ready', offsets: new Map([[0, '1']]), totals: new Map([['host:h', {}]]) }),
        waitUntilDurable,
      },
      history: { totalsByScope: async () => new Map([['host:h', totals(2)]]) },
      topic: 't',
    };
    const r = await reconcile(deps);
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
      const live: ReconcileDeps['live'] = {
        scanScopes: async () => ['all', 'campaign:month', 'campaign:orphan'],
        waitUntilDurable,
        snapshot: vi.fn(
          async (
            _t: string,
            scopes: readonly string[],
            catalogue?: { catalogue: string; version: string },
          ): Promise<LiveSnapshot> => {
            snapshots.push([...scopes]);
            const views = redisViews();
            return {
              status: 'ready',
              offsets: new Map([[0, String(10 + snapshots.length)]]),
              totals: new Map(
                scopes.map((s) => [
                  s,
                  s === 'all' ? { views: '5' } : views[s] === undefined ? {} : { views: String(views[s]) },
                ]),
              ),
              ...(catalogue ? { catalogue: { version: '3', bodies } } : {}),
            };
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
        history: { totalsByScope: async () => new Map([['all', totals(5)]]) },
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
      d.live.scanScopes = async () => ['all', 'campaign:month'];
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
      d.live.scanScopes = async () => ['all', 'campaign:month'];
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
