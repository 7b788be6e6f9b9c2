import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { keySpace, scopeOfTotalsKey } from './keys';
import { addTotals, aggregate, emptyTotals } from './totals';

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
];

describe('aggregate', () => {
  it('sums contributions per scope', () => {
    const d = aggregate(events);
    expect(d.get('all')).toEqual({
      sessions: 1,
      views: 2,
      orders: 1,
      items: 3,
      salesFen: 10_000,
      refunds: 1,
      refundsFen: 2_500,
      sessionsEnded: 1,
    });
    expect(d.get('district:Futian')).toEqual({ views: 1 });
    expect(d.get('district:Luohu')?.views).toBe(1);
    expect(d.get('host:h-1')?.salesFen).toBe(10_000);
    expect([...d.keys()].sort()).toEqual([
      'all',
      'category:jewellery',
      'city:Shenzhen',
      'district:Futian',
      'district:Luohu',
      'host:h-1',
      'platform:douyin',
      'stream:s-1',
    ]);
  });

  it('adds extra scopes such as campaigns', () => {
    const d = aggregate(events.slice(1, 2), () => ['campaign:ecm']);
    expect(d.get('campaign:ecm')).toEqual({ views: 1 });
  });

  it('adds totals', () => {
    expect(addTotals(emptyTotals(), { views: 2, salesFen: 5 })).toMatchObject({ views: 2, salesFen: 5, orders: 0 });
  });
});

describe('keys', () => {
  it('hash-tags the scope and round-trips it', () => {
    const k = keySpace('lt');
    expect(k.totals("district:Bao'an")).toBe("lt:t:{district:Bao'an}");
    expect(scopeOfTotalsKey('lt', k.totals('all'))).toBe('all');
    expect(scopeOfTotalsKey('lt', 'lt:off:x')).toBeNull();
  });
});
