import type { LiveEvent } from '@livetally/events';
import {
  MINUTE_BUCKET_TTL_SECONDS,
  MINUTE_MS,
  RANK_DIMENSIONS,
  RANK_MEASURES,
  liveKeys,
  type LiveKeys,
  type LiveRankDimension,
} from './live-keys';
import { TOTAL_FIELDS, type Deltas, type Totals } from './totals';

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

/** The flat op list the apply script executes (see redis-store.ts). */
export interface EncodedLivePlan {
  keys: string[];
  args: (string | number)[];
}

// Field indexes into a totals vector, in TOTAL_FIELDS order.
const VIEWS = 0;
const SESSIONS = 1;
const SESSIONS_ENDED = 2;
const SALES_FEN = 3;
const REFUNDS_FEN = 4;
const ORDERS = 5;
const ITEMS = 6;
const REFUNDS = 7;
const FIELD_COUNT = TOTAL_FIELDS.length;

/** The fields an event type contributes to (even with a zero amount), as a bit mask. */
const TYPE_MASK: Record<LiveEvent['type'], number> = {
  stream_started: 1 << SESSIONS,
  stream_ended: 1 << SESSIONS_ENDED,
  view: 1 << VIEWS,
  sale: (1 << ORDERS) | (1 << ITEMS) | (1 << SALES_FEN),
  refund: (1 << REFUNDS) | (1 << REFUNDS_FEN),
};

/** Adds what one event contributes (see contributionOf) into a totals vector. */
function contribute(v: number[], e: LiveEvent): void {
  switch (e.type) {
    case 'view':
      v[VIEWS]! += 1;
      break;
    case 'sale':
      v[ORDERS]! += 1;
      v[ITEMS]! += e.quantity;
      v[SALES_FEN]! += e.amountFen;
      break;
    case 'stream_started':
      v[SESSIONS]! += 1;
      break;
    case 'stream_ended':
      v[SESSIONS_ENDED]! += 1;
      break;
    case 'refund':
      v[REFUNDS]! += 1;
      v[REFUNDS_FEN]! += e.amountFen;
      break;
  }
}

interface Vector {
  v: number[];
  mask: number;
}

const newVector = (): Vector => ({ v: [0, 0, 0, 0, 0, 0, 0, 0], mask: 0 });

/** What a batch adds to one scope. */
interface ScopeAcc {
  scope: string;
  totals: Vector;
  /** Minute start (ms) → what the minute's bucket gets; only minutes still kept. */
  minutes: Map<number, Vector> | undefined;
  viewers: Set<string> | undefined;
  hosts: Set<string> | undefined;
}

// Leaderboards of one parent scope: [dimension][measure] → member → delta.
type RankAcc = Map<string, number>[];

const DIMENSION_COUNT = RANK_DIMENSIONS.length;
const MEASURE_COUNT = RANK_MEASURES.length;
const GMV = RANK_MEASURES.indexOf('gmv');
const RANK_VIEWS = RANK_MEASURES.indexOf('views');
const RANK_SESSIONS = RANK_MEASURES.indexOf('sessions');
// Member of an event per RANK_DIMENSIONS entry: host, district, category, platform, city.
const RANK_MEMBER: Record<LiveRankDimension, (e: LiveEvent) => string> = {
  host: (e) => e.hostId,
  district: (e) => e.district,
  category: (e) => e.category,
  platform: (e) => e.platform,
  city: (e) => e.city,
};
const MEMBER_OF = RANK_DIMENSIONS.map((d) => RANK_MEMBER[d]);

/** Dimension scopes of an event in scopesOf order after `all`: prefix and value. */
const DIMENSION_SCOPES: readonly [prefix: string, value: (e: LiveEvent) => string][] = [
  ['city:', (e) => e.city],
  ['district:', (e) => e.district],
  ['category:', (e) => e.category],
  ['platform:', (e) => e.platform],
  ['host:', (e) => e.hostId],
  ['stream:', (e) => e.streamId],
];

export interface BatchPlannerOptions {
  /** Wall clock; minute buckets older than their TTL are not written. */
  now: number;
  /** Collect minute buckets, uniques and leaderboards too (default true); false: totals only. */
  live?: boolean;
}

/**
 * Aggregates a batch in one pass, per scope, without building a key per event:
 * scope strings are made once per distinct scope and Redis keys once per distinct
 * key, when the plan is encoded. Produces the totals deltas (as aggregate does) and
 * the live plan (as planLiveWrites + encodeLivePlan do).
 */
export class BatchPlanner {
  private readonly byScope = new Map<string, ScopeAcc>();
  private readonly byDimension: Map<string, ScopeAcc>[] = DIMENSION_SCOPES.map(() => new Map());
  private readonly ranks = new Map<string, RankAcc>();
  private readonly all: ScopeAcc;
  private readonly allRanks: RankAcc | undefined;
  private readonly oldestMinute: number;
  private readonly live: boolean;

  constructor(private readonly options: BatchPlannerOptions) {
    this.live = options.live ?? true;
    this.oldestMinute = options.now - MINUTE_BUCKET_TTL_SECONDS * 1000;
    this.all = this.scopeAcc('all');
    this.allRanks = this.live ? this.rankAcc('all') : undefined;
  }

  /**
   * Adds one event to its dimension scopes (`all`, city, district, category,
   * platform, host, stream — scopesOf) and to `extraScopes` (campaigns), which are
   * also the leaderboard parents besides `all`.
   */
  add(e: LiveEvent, extraScopes: readonly string[] = []): void {
    const minute = Math.floor(e.ts / MINUTE_MS) * MINUTE_MS;
    this.touch(this.all, e, minute);
    for (let k = 0; k < DIMENSION_SCOPES.length; k++) {
      const [prefix, valueOf] = DIMENSION_SCOPES[k]!;
      const value = valueOf(e);
      const byValue = this.byDimension[k]!;
      let acc = byValue.get(value);
      if (acc === undefined) byValue.set(value, (acc = this.scopeAcc(prefix + value)));
      this.touch(acc, e, minute);
    }
    for (let i = 0; i < extraScopes.length; i++) this.touch(this.scopeAcc(extraScopes[i]!), e, minute);
    if (this.live) {
      this.rank(this.allRanks!, e);
      for (let i = 0; i < extraScopes.length; i++) this.rank(this.rankAcc(extraScopes[i]!), e);
    }
  }

  /** Generic form: the event counts in exactly `scopes` and enters the leaderboards of `parents`. */
  addTo(e: LiveEvent, scopes: readonly string[], parents: readonly string[]): void {
    const minute = Math.floor(e.ts / MINUTE_MS) * MINUTE_MS;
    for (let i = 0; i < scopes.length; i++) this.touch(this.scopeAcc(scopes[i]!), e, minute);
    if (this.live) for (let i = 0; i < parents.length; i++) this.rank(this.rankAcc(parents[i]!), e);
  }

  /** Per-scope totals deltas; a scope appears once touched, with the fields its events contribute to. */
  deltas(): Deltas {
    const out: Deltas = new Map();
    for (const acc of this.byScope.values()) {
      if (acc.totals.mask === 0) continue;
      out.set(acc.scope, partialTotals(acc.totals));
    }
    return out;
  }

  /** The live writes as maps keyed by Redis key (tests and tools; the worker encodes directly). */
  livePlan(keys: LiveKeys = liveKeys()): LivePlan {
    const plan: LivePlan = { hashes: new Map(), hyperLogLogs: new Map(), sortedSets: new Map(), expiring: new Map() };
    for (const acc of this.byScope.values()) {
      if (acc.minutes) {
        for (const [minute, vector] of acc.minutes) {
          const key = keys.minute(acc.scope, minute);
          const fields = new Map<string, number>();
          for (let f = 0; f < FIELD_COUNT; f++) if (vector.mask & (1 << f)) fields.set(TOTAL_FIELDS[f]!, vector.v[f]!);
          plan.hashes.set(key, fields);
          plan.expiring.set(key, this.ttlOf(minute));
        }
      }
      if (acc.viewers) plan.hyperLogLogs.set(keys.viewers(acc.scope), acc.viewers);
      if (acc.hosts) plan.hyperLogLogs.set(keys.hosts(acc.scope), acc.hosts);
    }
    for (const [parent, rank] of this.ranks) {
      this.forEachRanking(rank, (d, m, members) =>
        plan.sortedSets.set(keys.ranking(parent, RANK_DIMENSIONS[d]!, RANK_MEASURES[m]!), members),
      );
    }
    return plan;
  }

  /** The live writes as the apply script's op list: H (minute fields), P (PFADD), Z (ZINCRBY), then E (EXPIRE). */
  encodeLive(keys: LiveKeys = liveKeys()): EncodedLivePlan {
    const outKeys: string[] = [];
    const args: (string | number)[] = [];
    const expiring: number[] = [];
    for (const acc of this.byScope.values()) {
      if (!acc.minutes) continue;
      for (const [minute, vector] of acc.minutes) {
        const i = outKeys.push(keys.minute(acc.scope, minute));
        for (let f = 0; f < FIELD_COUNT; f++) {
          const d = vector.v[f]!;
          if (d !== 0) args.push('H', i, TOTAL_FIELDS[f]!, d);
        }
        expiring.push(i, this.ttlOf(minute));
      }
    }
    for (const acc of this.byScope.values()) {
      if (acc.viewers) pushMembers(args, outKeys.push(keys.viewers(acc.scope)), acc.viewers);
      if (acc.hosts) pushMembers(args, outKeys.push(keys.hosts(acc.scope)), acc.hosts);
    }
    for (const [parent, rank] of this.ranks) {
      this.forEachRanking(rank, (d, m, members) => {
        const i = outKeys.push(keys.ranking(parent, RANK_DIMENSIONS[d]!, RANK_MEASURES[m]!));
        for (const [member, delta] of members) if (delta !== 0) args.push('Z', i, member, delta);
      });
    }
    for (let j = 0; j < expiring.length; j += 2) args.push('E', expiring[j]!, expiring[j + 1]!);
    return { keys: outKeys, args };
  }

  // A bucket expires a fixed time after its minute, whenever it was written.
  private ttlOf(minute: number): number {
    return Math.max(1, Math.ceil((minute + MINUTE_BUCKET_TTL_SECONDS * 1000 - this.options.now) / 1000));
  }

  private scopeAcc(scope: string): ScopeAcc {
    let acc = this.byScope.get(scope);
    if (acc === undefined) {
      acc = { scope, totals: newVector(), minutes: undefined, viewers: undefined, hosts: undefined };
      this.byScope.set(scope, acc);
    }
    return acc;
  }

  private rankAcc(parent: string): RankAcc {
    let acc = this.ranks.get(parent);
    if (acc === undefined) this.ranks.set(parent, (acc = []));
    return acc;
  }

  private touch(acc: ScopeAcc, e: LiveEvent, minute: number): void {
    const mask = TYPE_MASK[e.type];
    contribute(acc.totals.v, e);
    acc.totals.mask |= mask;
    if (!this.live) return;
    if (minute >= this.oldestMinute) {
      acc.minutes ??= new Map();
      let bucket = acc.minutes.get(minute);
      if (bucket === undefined) acc.minutes.set(minute, (bucket = newVector()));
      contribute(bucket.v, e);
      bucket.mask |= mask;
    }
    if (e.type === 'view') (acc.viewers ??= new Set()).add(e.viewerId);
    (acc.hosts ??= new Set()).add(e.hostId);
  }

  private rank(acc: RankAcc, e: LiveEvent): void {
    let measure: number;
    let delta: number;
    if (e.type === 'sale') {
      measure = GMV;
      delta = e.amountFen;
    } else if (e.type === 'view') {
      measure = RANK_VIEWS;
      delta = 1;
    } else if (e.type === 'stream_started') {
      measure = RANK_SESSIONS;
      delta = 1;
    } else {
      return;
    }
    for (let d = 0; d < DIMENSION_COUNT; d++) {
      const slot = d * MEASURE_COUNT + measure;
      let members = acc[slot];
      if (members === undefined) acc[slot] = members = new Map();
      const member = MEMBER_OF[d]!(e);
      members.set(member, (members.get(member) ?? 0) + delta);
    }
  }

  /** Leaderboards of a parent in dimension-major order (as the original plan listed them). */
  private forEachRanking(
    rank: RankAcc,
    fn: (dimension: number, measure: number, members: Map<string, number>) => void,
  ): void {
    for (let d = 0; d < DIMENSION_COUNT; d++) {
      for (let m = 0; m < MEASURE_COUNT; m++) {
        const members = rank[d * MEASURE_COUNT + m];
        if (members !== undefined) fn(d, m, members);
      }
    }
  }
}

function partialTotals(vector: Vector): Partial<Totals> {
  const out: Partial<Totals> = {};
  for (let f = 0; f < FIELD_COUNT; f++) if (vector.mask & (1 << f)) out[TOTAL_FIELDS[f]!] = vector.v[f]!;
  return out;
}

function pushMembers(args: (string | number)[], keyIndex: number, members: Set<string>): void {
  args.push('P', keyIndex, members.size);
  for (const m of members) args.push(m);
}

/**
 * @param scopesOf every scope an event counts in (dimension scopes and campaigns)
 * @param parentsOf the scopes whose leaderboards an event enters (`all` and campaigns)
 * @param now wall clock; minute buckets older than their TTL are not written
 */
export function planLiveWrites(
  events: Iterable<LiveEvent>,
  scopesOf: (e: LiveEvent) => readonly string[],
  parentsOf: (e: LiveEvent) => readonly string[],
  now: number,
  keys: LiveKeys = liveKeys(),
): LivePlan {
  const planner = new BatchPlanner({ now });
  for (const e of events) planner.addTo(e, scopesOf(e), parentsOf(e));
  return planner.livePlan(keys);
}

/** Encodes a plan as the flat op list the apply script executes (see redis-store.ts). */
export function encodeLivePlan(plan: LivePlan): EncodedLivePlan {
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
  for (const [key, members] of plan.hyperLogLogs) pushMembers(args, keyIndex(key), members);
  for (const [key, members] of plan.sortedSets) {
    const i = keyIndex(key);
    for (const [m, d] of members) if (d !== 0) args.push('Z', i, m, d);
  }
  for (const [key, ttl] of plan.expiring) {
    args.push('E', keyIndex(key), ttl);
  }
  return { keys, args };
}
