import {
  DIMENSION_FIELDS,
  DIMENSION_KINDS,
  EVENT_TYPES,
  LEADERBOARD_MEASURES,
  amountOf,
  contributionsOf,
  viewerFieldOf,
  type Contribution,
  type EventType,
  type LiveEvent,
} from '@livetally/events';
import * as liveLayout from './live-keys';
import { TOTAL_FIELDS, type Deltas, type Totals } from './totals';

/**
 * Live writes as maps keyed by Redis key: what a campaign backfill stages from history
 * (campaign-staging.ts), encoded by encodeLivePlan into the op list the apply script runs.
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

const FIELD_COUNT = TOTAL_FIELDS.length;
const DIMENSION_COUNT = liveLayout.RANK_DIMENSIONS.length;
const MEASURE_COUNT = liveLayout.RANK_MEASURES.length;

/**
 * One event type's part of the counting rule, compiled once for the hot path: parallel
 * arrays of where each amount goes (an index into a totals vector or into
 * RANK_MEASURES) and where it comes from (a field of the event; null: 1 per event).
 */
interface CompiledType {
  /** The measures the type contributes to (even with a zero amount), as a bit mask of TOTAL_FIELDS indexes. */
  mask: number;
  slots: number[];
  fields: Contribution[];
  rankSlots: number[];
  rankFields: Contribution[];
  /** The field naming the viewer, for the unique-viewer HyperLogLogs; null: the type names none. */
  viewer: string | null;
}

function compile(type: EventType): CompiledType {
  const c: CompiledType = {
    mask: 0,
    slots: [],
    fields: [],
    rankSlots: [],
    rankFields: [],
    viewer: viewerFieldOf(type),
  };
  for (const contribution of contributionsOf(type)) {
    const { measure } = contribution;
    const slot = TOTAL_FIELDS.indexOf(measure);
    c.mask |= 1 << slot;
    c.slots.push(slot);
    c.fields.push(contribution);
    liveLayout.RANK_MEASURES.forEach((rank, r) => {
      if (LEADERBOARD_MEASURES[rank] !== measure) return;
      c.rankSlots.push(r);
      c.rankFields.push(contribution);
    });
  }
  return c;
}

const COMPILED = Object.fromEntries(EVENT_TYPES.map((t) => [t, compile(t)])) as Record<EventType, CompiledType>;

function fieldOf(e: LiveEvent, field: string): unknown {
  return (e as unknown as Record<string, unknown>)[field];
}

/** Adds what one event contributes into a totals vector. */
function contribute(v: number[], c: CompiledType, e: LiveEvent): void {
  const { slots, fields } = c;
  for (let i = 0; i < slots.length; i++) v[slots[i]!]! += amountOf(e, fields[i]!);
}

interface Vector {
  v: number[];
  mask: number;
}

const ZEROS: readonly number[] = TOTAL_FIELDS.map(() => 0);
const newVector = (): Vector => ({ v: ZEROS.slice(), mask: 0 });

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

/** The event field of each leaderboard dimension (RANK_DIMENSIONS order). */
const MEMBER_FIELDS: readonly string[] = liveLayout.RANK_DIMENSIONS.map((d) => DIMENSION_FIELDS[d]);

/** Dimension scopes of an event in scopesOf order after `all`: prefix and the field of the value. */
const DIMENSION_SCOPES: readonly [prefix: string, field: string][] = DIMENSION_KINDS.map((k) => [
  `${k}:`,
  DIMENSION_FIELDS[k],
]);

export interface BatchPlannerOptions {
  /** Wall clock; minute buckets older than their TTL are not written. */
  now: number;
  /** Collect minute buckets, uniques and leaderboards too (default true); false: totals only. */
  live?: boolean;
}

/**
 * Aggregates a batch in one pass, per scope, without building a key per event:
 * scope strings are made once per distinct scope and Redis keys once per distinct
 * key, when the plan is encoded. Produces the totals deltas and the live writes of
 * the batch, as the counting rule (@livetally/events COUNTING_RULE) says; the ingest
 * workers run it, and tests compare it with the rule's plain form (tally).
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
    this.oldestMinute = liveLayout.bucketsExpireBefore(options.now);
    this.all = this.scopeAcc('all');
    this.allRanks = this.live ? this.rankAcc('all') : undefined;
  }

  /**
   * Adds one event to its dimension scopes (`all`, city, district, category,
   * platform, host, stream — scopesOf) and to `extraScopes` (campaigns), which are
   * also the leaderboard parents besides `all`.
   */
  add(e: LiveEvent, extraScopes: readonly string[] = []): void {
    const c = COMPILED[e.type];
    const minute = liveLayout.minuteOf(e.ts);
    this.touch(this.all, c, e, minute);
    for (let k = 0; k < DIMENSION_SCOPES.length; k++) {
      const [prefix, field] = DIMENSION_SCOPES[k]!;
      const value = fieldOf(e, field) as string;
      const byValue = this.byDimension[k]!;
      let acc = byValue.get(value);
      if (acc === undefined) byValue.set(value, (acc = this.scopeAcc(prefix + value)));
      this.touch(acc, c, e, minute);
    }
    for (let i = 0; i < extraScopes.length; i++) this.touch(this.scopeAcc(extraScopes[i]!), c, e, minute);
    if (this.live && c.rankSlots.length > 0) {
      this.rank(this.allRanks!, c, e);
      for (let i = 0; i < extraScopes.length; i++) this.rank(this.rankAcc(extraScopes[i]!), c, e);
    }
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

  /** The live writes as the apply script's op list: H (minute fields), P (PFADD), Z (ZINCRBY), then E (EXPIRE). */
  encodeLive(keys: liveLayout.LiveKeys): EncodedLivePlan {
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
        const i = outKeys.push(keys.ranking(parent, liveLayout.RANK_DIMENSIONS[d]!, liveLayout.RANK_MEASURES[m]!));
        for (const [member, delta] of members) if (delta !== 0) args.push('Z', i, member, delta);
      });
    }
    for (let j = 0; j < expiring.length; j += 2) args.push('E', expiring[j]!, expiring[j + 1]!);
    return { keys: outKeys, args };
  }

  private ttlOf(minute: number): number {
    return liveLayout.minuteBucketTtl(minute, this.options.now);
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

  private touch(acc: ScopeAcc, c: CompiledType, e: LiveEvent, minute: number): void {
    contribute(acc.totals.v, c, e);
    acc.totals.mask |= c.mask;
    if (!this.live) return;
    if (minute >= this.oldestMinute) {
      acc.minutes ??= new Map();
      let bucket = acc.minutes.get(minute);
      if (bucket === undefined) acc.minutes.set(minute, (bucket = newVector()));
      contribute(bucket.v, c, e);
      bucket.mask |= c.mask;
    }
    // Only events that name a viewer feed the estimate (a counted view may name none).
    const viewer = c.viewer === null ? undefined : fieldOf(e, c.viewer);
    if (typeof viewer === 'string') (acc.viewers ??= new Set()).add(viewer);
    (acc.hosts ??= new Set()).add(e.hostId);
  }

  private rank(acc: RankAcc, c: CompiledType, e: LiveEvent): void {
    for (let r = 0; r < c.rankSlots.length; r++) {
      const measure = c.rankSlots[r]!;
      const delta = amountOf(e, c.rankFields[r]!);
      for (let d = 0; d < DIMENSION_COUNT; d++) {
        const slot = d * MEASURE_COUNT + measure;
        let members = acc[slot];
        if (members === undefined) acc[slot] = members = new Map();
        const member = fieldOf(e, MEMBER_FIELDS[d]!) as string;
        members.set(member, (members.get(member) ?? 0) + delta);
      }
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
