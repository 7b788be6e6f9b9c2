import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { liveKeys } from './live-keys';
import { encodeLivePlan, planLiveWrites } from './live-plan';

const NOW = Date.UTC(2024, 8, 1, 12, 0, 30);
const base = {
  v: 1 as const,
  platform: 'douyin',
  streamId: 's',
  hostId: 'h-1',
  city: 'Shenzhen',
  district: 'Luohu',
  category: 'jewellery',
};
const events: LiveEvent[] = [
  { ...base, type: 'view', eventId: 'a', ts: NOW - 10_000, viewerId: 'v1' },
  { ...base, type: 'view', eventId: 'b', ts: NOW - 20_000, viewerId: 'v1' },
  { ...base, type: 'sale', eventId: 'c', ts: NOW - 70_000, orderId: 'o', sku: 'k', quantity: 2, amountFen: 500 },
  // Late: four hours old, outside the live minute buckets but still ranked and counted in uniques.
  {
    ...base,
    type: 'sale',
    eventId: 'd',
    ts: NOW - 4 * 3_600_000,
    hostId: 'h-2',
    orderId: 'o2',
    sku: 'k',
    quantity: 1,
    amountFen: 900,
  },
];
const keys = liveKeys('lt');

describe('planLiveWrites', () => {
  const plan = planLiveWrites(
    events,
    (e) => ['all', `district:${e.district}`],
    () => ['all'],
    NOW,
    keys,
  );

  it('buckets by event minute', () => {
    const thisMinute = keys.minute('all', NOW);
    const previous = keys.minute('all', NOW - 60_000);
    expect(Object.fromEntries(plan.hashes.get(thisMinute)!)).toEqual({ views: 2 });
    expect(Object.fromEntries(plan.hashes.get(previous)!)).toEqual({ orders: 1, items: 2, salesFen: 500 });
    expect(plan.hashes.has(keys.minute('all', NOW - 4 * 3_600_000))).toBe(false);
    expect(plan.expiring.get(thisMinute)).toBe(3 * 3600 - 30);
  });

  it('collects unique viewers and hosts', () => {
    expect([...plan.hyperLogLogs.get(keys.viewers('district:Luohu'))!]).toEqual(['v1']);
    expect([...plan.hyperLogLogs.get(keys.hosts('all'))!].sort()).toEqual(['h-1', 'h-2']);
  });

  it('ranks by GMV and views per dimension', () => {
    expect(Object.fromEntries(plan.sortedSets.get(keys.ranking('all', 'host', 'gmv'))!)).toEqual({
      'h-1': 500,
      'h-2': 900,
    });
    expect(Object.fromEntries(plan.sortedSets.get(keys.ranking('all', 'city', 'views'))!)).toEqual({ Shenzhen: 2 });
  });

  it('encodes one op per touched key and field', () => {
    const { keys: k, args } = encodeLivePlan(plan);
    expect(new Set(k).size).toBe(k.length);
    const ops = args.filter((a) => a === 'H' || a === 'P' || a === 'Z' || a === 'E');
    expect(ops.filter((o) => o === 'P')).toHaveLength(plan.hyperLogLogs.size);
    expect(ops.filter((o) => o === 'E')).toHaveLength(plan.expiring.size);
  });
});
