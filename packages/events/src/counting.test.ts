import { describe, expect, it } from 'vitest';
import { COUNTING_RULE, MEASURES, contributionOf, contributionsOf, tally, viewerFieldOf } from './counting';
import { EVENT_TYPES, type LiveEvent } from './types';

const common = {
  v: 1 as const,
  platform: 'douyin',
  streamId: 's-1',
  hostId: 'h-1',
  ts: 1,
  city: 'Shenzhen',
  district: 'Luohu',
  category: 'jewellery',
};
const events: LiveEvent[] = [
  { ...common, type: 'stream_started', eventId: 'e1' },
  { ...common, type: 'view', eventId: 'e2', viewerId: 'v1' },
  { ...common, type: 'view', eventId: 'e3', viewerId: 'v2', district: 'Futian' },
  { ...common, type: 'sale', eventId: 'e4', orderId: 'o1', sku: 'k', quantity: 3, amountFen: 10_000 },
  { ...common, type: 'refund', eventId: 'e5', orderId: 'o1', amountFen: 2_500 },
  { ...common, type: 'stream_ended', eventId: 'e6' },
  { ...common, type: 'like', eventId: 'e7', count: 30 },
  { ...common, type: 'like', eventId: 'e8', count: 1, district: 'Futian' },
  // A platform's count of a minute's views, naming no viewer.
  { ...common, type: 'view', eventId: 'e9', count: 250 },
];
const zeros = Object.fromEntries(MEASURES.map((m) => [m, 0]));

describe('the counting rule', () => {
  it('says what each event adds, listing a measure even when its amount is 0', () => {
    expect(events.map(contributionOf)).toEqual([
      { sessions: 1 },
      { views: 1 },
      { views: 1 },
      { salesFen: 10_000, orders: 1, items: 3 },
      { refundsFen: 2_500, refunds: 1 },
      { sessionsEnded: 1 },
      { likes: 30 },
      { likes: 1 },
      { views: 250 },
    ]);
    expect(contributionOf({ ...events[3]!, type: 'sale', amountFen: 0 } as LiveEvent)).toEqual({
      salesFen: 0,
      orders: 1,
      items: 3,
    });
  });

  it('covers every event type and only known measures, amounts from numeric fields', () => {
    for (const type of EVENT_TYPES) {
      expect(COUNTING_RULE[type]).toBeDefined();
      for (const c of contributionsOf(type)) {
        expect(MEASURES).toContain(c.measure);
        expect(c.field === null || /^[a-z][A-Za-z]*$/.test(c.field)).toBe(true);
      }
    }
    expect(EVENT_TYPES.filter((t) => viewerFieldOf(t) !== null)).toEqual(['view']);
    expect(contributionsOf('view')).toEqual([{ measure: 'views', field: 'count', absent: 1 }]);
  });

  it('tallies totals per scope, every scope of an event and its extra scopes', () => {
    const t = tally(events);
    expect(t.get('all')).toEqual({
      ...zeros,
      sessions: 1,
      views: 252,
      orders: 1,
      items: 3,
      salesFen: 10_000,
      refunds: 1,
      refundsFen: 2_500,
      sessionsEnded: 1,
      likes: 31,
    });
    expect(t.get('district:Futian')).toEqual({ ...zeros, views: 1, likes: 1 });
    expect(t.get('host:h-1')?.salesFen).toBe(10_000);
    expect([...t.keys()].sort()).toEqual([
      'all',
      'category:jewellery',
      'city:Shenzhen',
      'district:Futian',
      'district:Luohu',
      'host:h-1',
      'platform:douyin',
      'stream:s-1',
    ]);
    expect(tally(events.slice(1, 2), () => ['campaign:ecm']).get('campaign:ecm')).toEqual({ ...zeros, views: 1 });
  });
});
