import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, tally, type LiveEvent } from '@livetally/events';
import { liveKeys } from './live-keys';
import { BatchPlanner, type EncodedLivePlan } from './live-plan';
import { emptyTotals } from './totals';

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
const keys = liveKeys('lt').partition('t', 0);

/** The apply script's op list read back into maps keyed by Redis key. */
function decode({ keys: k, args }: EncodedLivePlan) {
  const hashes = new Map<string, Record<string, number>>();
  const hyperLogLogs = new Map<string, string[]>();
  const sortedSets = new Map<string, Record<string, number>>();
  const expiring = new Map<string, number>();
  for (let a = 0; a < args.length;) {
    const key = k[(args[a + 1] as number) - 1]!;
    switch (args[a]) {
      case 'H':
        hashes.set(key, { ...hashes.get(key), [args[a + 2] as string]: args[a + 3] as number });
        a += 4;
        break;
      case 'Z':
        sortedSets.set(key, { ...sortedSets.get(key), [args[a + 2] as string]: args[a + 3] as number });
        a += 4;
        break;
      case 'E':
        expiring.set(key, args[a + 2] as number);
        a += 3;
        break;
      case 'P': {
        const n = args[a + 2] as number;
        hyperLogLogs.set(key, args.slice(a + 3, a + 3 + n) as string[]);
        a += 3 + n;
        break;
      }
      default:
        throw new Error(`unknown op ${String(args[a])}`);
    }
  }
  return { keys: k, hashes, hyperLogLogs, sortedSets, expiring };
}

function plan(list: readonly LiveEvent[], extraScopes: (e: LiveEvent) => readonly string[] = () => []) {
  const planner = new BatchPlanner({ now: NOW });
  for (const e of list) planner.add(e, extraScopes(e));
  return { deltas: planner.deltas(), live: decode(planner.encodeLive(keys)) };
}

describe('BatchPlanner', () => {
  const { live } = plan(events);

  it('buckets by event minute', () => {
    const thisMinute = keys.minute('all', NOW);
    const previous = keys.minute('all', NOW - 60_000);
    expect(live.hashes.get(thisMinute)).toEqual({ views: 2 });
    expect(live.hashes.get(previous)).toEqual({ orders: 1, items: 2, salesFen: 500 });
    expect(live.hashes.has(keys.minute('all', NOW - 4 * 3_600_000))).toBe(false);
    expect(live.expiring.get(thisMinute)).toBe(3 * 3600 - 30);
  });

  it('collects unique viewers and hosts', () => {
    expect(live.hyperLogLogs.get(keys.viewers('district:Luohu'))).toEqual(['v1']);
    expect(live.hyperLogLogs.get(keys.hosts('all'))?.sort()).toEqual(['h-1', 'h-2']);
  });

  it('ranks by GMV and views per dimension', () => {
    expect(live.sortedSets.get(keys.ranking('all', 'host', 'gmv'))).toEqual({ 'h-1': 500, 'h-2': 900 });
    expect(live.sortedSets.get(keys.ranking('all', 'city', 'views'))).toEqual({ Shenzhen: 2 });
  });

  it('adds a view count to views, its minute and its rankings, and a viewer only when the event names one', () => {
    const counted: LiveEvent[] = [
      { ...base, type: 'view', eventId: 'c1', ts: NOW - 5_000, count: 1_200 },
      { ...base, type: 'view', eventId: 'c2', ts: NOW - 6_000, viewerId: 'v9', count: 3 },
      { ...base, type: 'view', eventId: 'c3', ts: NOW - 7_000, viewerId: 'v1' },
    ];
    const { deltas, live: got } = plan(counted);
    expect(deltas.get('all')).toMatchObject({ views: 1_204 });
    expect(got.hashes.get(keys.minute('all', NOW))).toEqual({ views: 1_204 });
    expect(got.sortedSets.get(keys.ranking('all', 'host', 'views'))).toEqual({ 'h-1': 1_204 });
    expect(got.hyperLogLogs.get(keys.viewers('all'))?.sort()).toEqual(['v1', 'v9']);
  });

  it('encodes one op per touched key and field', () => {
    expect(new Set(live.keys).size).toBe(live.keys.length);
  });

  it('adds to every scope exactly what the counting rule tallies, campaigns included', () => {
    const mixed = mixedEvents(400);
    const campaignsOf = (e: LiveEvent) => (e.district === 'Futian' ? ['campaign:a', 'campaign:b'] : []);
    const { deltas } = plan(mixed, campaignsOf);
    const expected = tally(mixed, campaignsOf);
    expect(new Set(deltas.keys())).toEqual(new Set(expected.keys()));
    for (const [scope, want] of expected) expect({ ...emptyTotals(), ...deltas.get(scope) }, scope).toEqual(want);
  });
});

/** Every event type, several dimension values, zero amounts among them. */
function mixedEvents(n: number): LiveEvent[] {
  const out: LiveEvent[] = [];
  const districts = ['Luohu', 'Futian', 'Nanshan'];
  for (let i = 0; i < n; i++) {
    const common = {
      ...base,
      eventId: `m${i}`,
      ts: NOW - (i % 7) * 60_000,
      hostId: `h-${i % 5}`,
      district: districts[i % 3]!,
      streamId: `s-${i % 4}`,
    };
    const type = EVENT_TYPES[i % EVENT_TYPES.length]!;
    if (type === 'view')
      out.push(i % 2 === 0 ? { ...common, type, viewerId: `v${i % 11}` } : { ...common, type, count: 1 + (i % 700) });
    else if (type === 'sale')
      out.push({ ...common, type, orderId: `o${i}`, sku: 'k', quantity: 1 + (i % 3), amountFen: (i % 4) * 250 });
    else if (type === 'refund') out.push({ ...common, type, orderId: `o${i}`, amountFen: 1 + i });
    else if (type === 'like') out.push({ ...common, type, count: 1 + (i % 9) });
    else out.push({ ...common, type } as LiveEvent);
  }
  return out;
}
