import type { LiveEvent } from '@livetally/events';
import { MINUTE_BUCKET_TTL_SECONDS, MINUTE_MS, liveKeys, type LiveKeys, type LiveRankDimension, type LiveRankMeasure } from './live-keys';
import { contributionOf, type Totals } from './totals';

/**
 * Everything one batch changes besides cumulative totals, pre-aggregated so Redis sees
 * one command per touched key: per-minute buckets (rolling windows, sparklines) by
 * event time, HyperLogLogs of viewers and hosts, and leaderboards.
 */
export interface LivePlan {
  /** key → field → delta, for minute buckets. */
  hashes: Map<string, Map<string, number>>;
  /** key → members to PFADD. */
  hyperLogLogs: Map<string, Set<string>>;
  /** key → member → delta, for leaderboards. */
  sortedSets: Map<string, Map<string, number>>;
  /** keys that get a TTL. */
  expiring: Map<string, number>;
}

const RANK_MEMBER: Record<LiveRankDimension, (e: LiveEvent) => string> = {
  host: (e) => e.hostId,
  district: (e) => e.district,
  category: (e) => e.category,
  platform: (e) => e.platform,
  city: (e) => e.city,
};

function rankDelta(e: LiveEvent): [LiveRankMeasure, number] | null {
  if (e.type === 'sale') return ['gmv', e.amountFen];
  if (e.type === 'view') return ['views', 1];
  if (e.type === 'stream_started') return ['sessions', 1];
  return null;
}

function bump<K>(map: Map<K, number>, key: K, delta: number): void {
  map.set(key, (map.get(key) ?? 0) + delta);
}

function inner<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

/**
 * @param scopesOf every scope an event counts in (dimension scopes and campaigns)
 * @param parentsOf the scopes whose leaderboards an event enters (`all` and campaigns)
 * @param now wall clock; minute buckets older than their TTL are not written
 */
export function planLiveWrites(events: Iterable<LiveEvent>, scopesOf: (e: LiveEvent) => readonly string[], parentsOf: (e: LiveEvent) => readonly string[], now: number, keys: LiveKeys = liveKeys()): LivePlan {
  const plan: LivePlan = { hashes: new Map(), hyperLogLogs: new Map(), sortedSets: new Map(), expiring: new Map() };
  const oldestMinute = now - MINUTE_BUCKET_TTL_SECONDS * 1000;
  for (const e of events) {
    const scopes = scopesOf(e);
    const minute = Math.floor(e.ts / MINUTE_MS) * MINUTE_MS;
    const contribution = contributionOf(e) as Partial<Totals>;
    for (const scope of scopes) {
      if (minute >= oldestMinute) {
        const key = keys.minute(scope, minute);
        const fields = inner(plan.hashes, key, () => new Map<string, number>());
        for (const [f, d] of Object.entries(contribution)) bump(fields, f, d!);
        // A bucket expires a fixed time after its minute, whenever it was written.
        plan.expiring.set(key, Math.max(1, Math.ceil((minute + MINUTE_BUCKET_TTL_SECONDS * 1000 - now) / 1000)));
      }
      if (e.type === 'view') inner(plan.hyperLogLogs, keys.viewers(scope), () => new Set<string>()).add(e.viewerId);
      inner(plan.hyperLogLogs, keys.hosts(scope), () => new Set<string>()).add(e.hostId);
    }
    const rank = rankDelta(e);
    if (rank) {
      const [measure, delta] = rank;
      for (const parent of parentsOf(e)) {
        for (const dimension of Object.keys(RANK_MEMBER) as LiveRankDimension[]) {
          bump(inner(plan.sortedSets, keys.ranking(parent, dimension, measure), () => new Map<string, number>()), RANK_MEMBER[dimension](e), delta);
        }
      }
    }
  }
  return plan;
}

/** Encodes a plan as the flat op list the apply script executes (see redis-store.ts). */
export function encodeLivePlan(plan: LivePlan): { keys: string[]; args: (string | number)[] } {
  const keys: string[] = [];
  const args: (string | number)[] = [];
  const indexes = new Map<string, number>();
  const keyIndex = (key: string) => {
    let i = indexes.get(key);
    if (i === undefined) indexes.set(key, (i = keys.push(key)));
    return i;
  };
  for (const [key, fields] of plan.hashes) {
    const i = keyIndex(key);
    for (const [f, d] of fields) if (d !== 0) args.push('H', i, f, d);
  }
  for (const [key, members] of plan.hyperLogLogs) {
    const i = keyIndex(key);
    args.push('P', i, members.size);
    for (const m of members) args.push(m);
  }
  for (const [key, members] of plan.sortedSets) {
    const i = keyIndex(key);
    for (const [m, d] of members) if (d !== 0) args.push('Z', i, m, d);
  }
  for (const [key, ttl] of plan.expiring) {
    args.push('E', keyIndex(key), ttl);
  }
  return { keys, args };
}
