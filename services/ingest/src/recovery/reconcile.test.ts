import type { LiveSnapshot } from '@livetally/counters';
import { describe, expect, it, vi } from 'vitest';
import { agrees, reconcile, type ReconcileDeps } from './reconcile';

const totals = (views: number) => ({ views: String(views), sessions: '0', sessionsEnded: '0', salesFen: '0', refundsFen: '0', orders: '0', items: '0', refunds: '0' });

describe('reconcile', () => {
  it('asks ClickHouse for exactly the offsets of the atomic snapshot', async () => {
    const snapshot = vi.fn(async (_t: string, scopes: readonly string[]): Promise<LiveSnapshot> => ({
      status: 'ready',
      offsets: new Map([[1, '99']]),
      totals: new Map(scopes.map((s) => [s, { views: '5' }])),
    }));
    const totalsByScope = vi.fn(async () => new Map([['all', totals(5)]]));
    const r = await reconcile({ live: { scanScopes: async () => ['all'], snapshot }, history: { totalsByScope }, topic: 't' });
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
      only ? new Map(only.map((s) => [s, totals(Number(upTo.get(0)) - 9)])) : new Map([['all', totals(1)], ['stream:new', totals(1)], ['stream:newer', totals(1)]]),
    );
    const r = await reconcile({ live: { scanScopes: async () => ['all'], snapshot }, history: { totalsByScope }, topic: 't' });
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
      live: { scanScopes: async () => [], snapshot: async () => ({ status: 'missing', offsets: new Map(), totals: new Map() }) },
      history: { totalsByScope },
      topic: 't',
    });
    expect(r).toMatchObject({ status: 'missing', comparison: null });
    expect(agrees(r)).toBe(false);
    expect(totalsByScope).not.toHaveBeenCalled();
  });

  it('treats an empty Redis hash as a missing key', async () => {
    const deps: ReconcileDeps = {
      live: { scanScopes: async () => ['host:h'], snapshot: async () => ({ status: 'ready', offsets: new Map([[0, '1']]), totals: new Map([['host:h', {}]]) }) },
      history: { totalsByScope: async () => new Map([['host:h', totals(2)]]) },
      topic: 't',
    };
    const r = await reconcile(deps);
    expect(r.comparison!.differences).toMatchObject([{ scope: 'host:h', presence: 'history-only' }]);
  });
});
