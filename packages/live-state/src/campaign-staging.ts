import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LIMITS } from '@livetally/events';
import { encodeChangedScopes } from './changes';
import { keySpace, partitionTag, type KeySpace } from './keys';
import * as liveLayout from './live-keys';
import { encodeLivePlan, type LivePlan } from './live-plan';
import { LIVE_STATE_GATE, NotPartitionedYetError, REFRESH_LOCK, RELEASE_LOCK, liveStateError } from './live-state';
import { LIVE_OPS_LOOP } from './redis-store';

/**
 * A campaign backfill builds the campaign's new live figures aside, in a staging scope,
 * and swaps them in with one atomic step; readers keep seeing the previous figures
 * until then. Why the swapped-in figures are exact (history up to the cut plus every
 * live event after it, each once):
 *
 * 1. The cut is one script: it registers a fresh generation for the campaign in the
 *    staging registry, empties the staging scope, bumps the catalogue version and reads
 *    every partition's applied offset (and the definition the figures are built for).
 * 2. Workers match events against a catalogue snapshot that includes the registry
 *    (CampaignStore.snapshot): while a generation is registered, every event the
 *    campaign matches counts in its live scope and in the staging scope, in the same
 *    atomic apply. The apply script refuses a batch planned against an older catalogue
 *    version, so every batch applied after the cut also reaches the staging scope, and
 *    no batch applied before it does. Batches applied before the cut are at or below the
 *    cut's offsets: ClickHouse holds them once the durable offsets reach the cut.
 * 3. The backfill adds ClickHouse's rows at or below the cut that the definition
 *    matches to the staging scope, each write fenced by the generation: a write of a
 *    generation that is no longer registered changes nothing.
 * 4. The swap is one script, only while the generation is still registered: it renames
 *    every staging key onto the live key (or deletes the live key when the staging one
 *    does not exist: minute buckets in the future part of the window included),
 *    unregisters the generation and bumps the catalogue version, so a batch planned
 *    while the staging scope existed is re-planned without it.
 *
 * So after the swap the live scope holds history up to the cut plus live after the cut,
 * for the definition read at the cut. Anything that changes which events the campaign
 * covers (a save changing its window or filters, a restore of the catalogue from
 * ClickHouse) unregisters the generation in the same step, so a backfill of an older
 * definition can never swap in; another backfill then registers a new generation.
 */

/** Where the campaign catalogue and its backfill bookkeeping live (the campaigns package's key layout). */
export interface CampaignStagingKeys {
  /** Hash id → definition (JSON). */
  catalogue: string;
  /** The catalogue version workers match batches against. */
  version: string;
  /** Hash id → the campaign version whose live figures still have to be rebuilt from history. */
  pending: string;
  /** Hash id → generation of the backfill building the campaign's figures aside right now. */
  staging: string;
  /** One backfill of a campaign at a time, whichever process runs it. */
  lease(id: string): string;
}

/** A campaign's live scope and the staging scope its backfill builds aside. */
export interface StagedScope {
  /** Field of the staging registry and of the pending hash (the campaign id). */
  id: string;
  live: string;
  staged: string;
}

export interface CampaignCut {
  gen: string;
  /** The definition in the catalogue at the cut (JSON): the figures are built for it. */
  definition: string;
  /** The pending entry the cut serves; the swap clears it if it did not change since. */
  pending: string;
  /** Applied offset per partition at the cut. */
  upTo: Map<number, string>;
  /** Wall clock at the cut; minute buckets older than their TTL before it are not kept. */
  now: number;
  sinceMinute: number;
}

/** What ClickHouse holds for the campaign up to the cut, as the staging scope gets it. */
export interface StagedHistory {
  totals?: Record<string, number>;
  minutes?: readonly { t: number; totals: Record<string, number> }[];
  /** dimension → measure → member → value. */
  rankings?: Record<string, Record<string, Record<string, number>>>;
  hosts?: readonly string[];
  viewers?: readonly string[];
}

/**
 * Minute buckets can lie ahead of the clock: an event may be stamped up to the future
 * bound after its Kafka record, and record timestamps come from the producers' clocks,
 * which may run ahead of this one. Cut and swap cover minutes up to this far ahead.
 */
const LATEST_MINUTE_AHEAD_MS = LIMITS.maxFutureSkewMs + 10 * liveLayout.MINUTE_MS;
/** Ids or leaderboard members per fenced write: bounds how long one call holds Redis. */
const MEMBERS_PER_CALL = 5_000;

// KEYS: offsets, marker, lock, catalogue, catalogue version, pending, staging registry,
// then the staging scope's keys (emptied). ARGV: id, new generation.
// Returns {0} when the campaign has no definition or nothing pending (nothing to do).
const TAKE_CUT = `${LIVE_STATE_GATE}
local definition = redis.call('HGET', KEYS[4], ARGV[1])
local pending = redis.call('HGET', KEYS[6], ARGV[1])
if not definition or not pending then return {0} end
for i = 8, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('HSET', KEYS[7], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[5])
return {1, definition, pending, redis.call('HGETALL', KEYS[1])}`;

// KEYS: staging registry, marker, lock, then the keys of the ops. ARGV: id, generation,
// ops (JSON, as encodeLivePlan makes them). Returns 0, writing nothing, when the
// generation is no longer registered.
const STAGE = `${LIVE_STATE_GATE}
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local ops = cjson.decode(ARGV[3])
local a = 1
local base = 3
${LIVE_OPS_LOOP}
return 1`;

// KEYS: staging registry, marker, lock, pending, catalogue version, then N staging keys,
// then the N live keys they replace. ARGV: id, generation, pending entry seen at the
// cut, change channel, change message. Returns 0, changing nothing, when the generation
// is no longer registered.
const SWAP = `${LIVE_STATE_GATE}
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local n = (#KEYS - 5) / 2
for i = 6, 5 + n do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + n])
  else
    redis.call('DEL', KEYS[i + n])
  end
end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[4], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[4], ARGV[1]) end
redis.call('INCR', KEYS[5])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;

/** A held lease; `lost` turns true when a refresh found another holder. */
export interface CampaignLease {
  readonly token: string;
  lost: boolean;
  release(): Promise<void>;
}

/** The Redis side of a campaign backfill: lease, cut, fenced staging writes and the swap. */
export class CampaignStaging {
  private readonly keys: KeySpace;
  private readonly live: liveLayout.LiveKeySpace;

  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix?: string; topic: string; keys: CampaignStagingKeys },
  ) {
    this.keys = keySpace(options.prefix);
    this.live = liveLayout.liveKeys(options.prefix);
    redis.defineCommand('ltCampaignCut', { lua: TAKE_CUT });
    redis.defineCommand('ltCampaignStage', { lua: STAGE });
    redis.defineCommand('ltCampaignSwap', { lua: SWAP });
    redis.defineCommand('ltRefreshCampaignLease', { lua: REFRESH_LOCK, numberOfKeys: 1 });
    redis.defineCommand('ltReleaseCampaignLease', { lua: RELEASE_LOCK, numberOfKeys: 1 });
  }

  /**
   * ADR 0003 Milestone 2: the cut, staging and swap become per partition (cut: one script
   * per partition's slot; stage: history rows into their partition's share; swap: a
   * generation pointer in the campaign slot). Until then every step refuses here, before
   * touching Redis, rather than write the pre-ADR-0003 layout.
   */
  private tag(): string {
    throw new NotPartitionedYetError(`campaign backfill of ${this.options.topic}`);
  }

  /** The partition's offsets hash (the cut reads it; the backfill waits for its durable offset). */
  offsetsKey(partition: number): string {
    return this.keys.offsets(partitionTag(this.options.topic, partition));
  }

  async isPending(id: string): Promise<boolean> {
    return (await this.redis.hexists(this.options.keys.pending, id)) === 1;
  }

  /**
   * Takes the campaign's lease if nobody holds it; refreshed every third of `ttlMs`
   * until released, so it outlives its holder by at most `ttlMs`.
   */
  async acquireLease(id: string, ttlMs: number): Promise<CampaignLease | null> {
    const key = this.options.keys.lease(id);
    const token = randomUUID();
    if ((await this.redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
    const lease: CampaignLease = {
      token,
      lost: false,
      release: async () => {
        clearInterval(timer);
        await this.call('ltReleaseCampaignLease', key, token);
      },
    };
    const timer = setInterval(
      () => {
        this.call<number>('ltRefreshCampaignLease', key, token, ttlMs).then(
          (held) => void (held === 1 || (lease.lost = true)),
          () => undefined, // retried on the next tick; the TTL leaves room
        );
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    return lease;
  }

  /** Step 1: the cut, with a fresh generation; null when nothing is pending for the campaign. */
  async takeCut(scope: StagedScope, now: number): Promise<CampaignCut | null> {
    const gen = `${now.toString(36)}-${randomUUID()}`;
    const sinceMinute = oldestKeptMinute(now);
    const k = this.options.keys;
    const staged = this.scopeKeys(scope.staged, sinceMinute, now);
    const reply = await this.call<[number, string?, string?, string[]?]>(
      'ltCampaignCut',
      7 + staged.length,
      this.keys.offsets(this.tag()),
      this.keys.liveState(this.tag()),
      this.keys.rebuildLock(this.tag()),
      k.catalogue,
      k.version,
      k.pending,
      k.staging,
      staged,
      scope.id,
      gen,
    );
    if (reply[0] !== 1) return null;
    const flat = reply[3] ?? [];
    const upTo = new Map<number, string>();
    for (let i = 0; i < flat.length; i += 2) if (/^\d+$/.test(flat[i]!)) upTo.set(Number(flat[i]), flat[i + 1]!);
    return { gen, definition: reply[1]!, pending: reply[2]!, upTo, now, sinceMinute };
  }

  /** Step 3: adds history to the staging scope, in bounded calls; false (the rest unwritten) once the generation lost. */
  async stage(scope: StagedScope, cut: CampaignCut, history: StagedHistory): Promise<boolean> {
    for (const plan of this.plansOf(scope.staged, history, cut.now)) {
      const { keys, args } = encodeLivePlan(plan);
      if (args.length === 0) continue;
      const ok = await this.call<number>(
        'ltCampaignStage',
        3 + keys.length,
        this.options.keys.staging,
        this.keys.liveState(this.tag()),
        this.keys.rebuildLock(this.tag()),
        keys,
        scope.id,
        cut.gen,
        JSON.stringify(args),
      );
      if (ok !== 1) return false;
    }
    return true;
  }

  /** Step 4: swaps the staging scope in; false (nothing changed) when the generation lost. */
  async swap(scope: StagedScope, cut: CampaignCut, now: number): Promise<boolean> {
    const k = this.options.keys;
    const staged = this.scopeKeys(scope.staged, cut.sinceMinute, now);
    const live = this.scopeKeys(scope.live, cut.sinceMinute, now);
    const ok = await this.call<number>(
      'ltCampaignSwap',
      5 + staged.length + live.length,
      k.staging,
      this.keys.liveState(this.tag()),
      this.keys.rebuildLock(this.tag()),
      k.pending,
      k.version,
      staged,
      live,
      scope.id,
      cut.gen,
      cut.pending,
      this.keys.changesChannel(this.tag()),
      encodeChangedScopes([scope.live]),
    );
    return ok === 1;
  }

  /** Every key of a scope's live figures, minute buckets from `sinceMinute` to the latest one that can exist at `now`. */
  private scopeKeys(scope: string, sinceMinute: number, now: number): string[] {
    const keys = [
      this.keys.totals(this.tag(), scope),
      this.live.forTag(this.tag()).viewers(scope),
      this.live.forTag(this.tag()).hosts(scope),
    ];
    for (const d of liveLayout.RANK_DIMENSIONS)
      for (const m of liveLayout.RANK_MEASURES) keys.push(this.live.forTag(this.tag()).ranking(scope, d, m));
    for (let t = sinceMinute; t <= now + LATEST_MINUTE_AHEAD_MS; t += liveLayout.MINUTE_MS)
      keys.push(this.live.forTag(this.tag()).minute(scope, t));
    return keys;
  }

  /** The history as live plans of bounded size: totals and minute buckets, then leaderboards and HyperLogLogs in slices. */
  private *plansOf(scope: string, h: StagedHistory, now: number): Generator<LivePlan> {
    const head = emptyPlan();
    if (h.totals) head.hashes.set(this.keys.totals(this.tag(), scope), new Map(Object.entries(h.totals)));
    for (const m of h.minutes ?? []) {
      const key = this.live.forTag(this.tag()).minute(scope, m.t);
      head.hashes.set(key, new Map(Object.entries(m.totals)));
      head.expiring.set(key, liveLayout.minuteBucketTtl(m.t, now));
    }
    yield head;
    for (const [dimension, byMeasure] of Object.entries(h.rankings ?? {})) {
      for (const [measure, members] of Object.entries(byMeasure)) {
        const key = this.live
          .forTag(this.tag())
          .ranking(scope, dimension as liveLayout.LiveRankDimension, measure as liveLayout.LiveRankMeasure);
        const entries = Object.entries(members);
        for (let i = 0; i < entries.length; i += MEMBERS_PER_CALL) {
          const plan = emptyPlan();
          plan.sortedSets.set(key, new Map(entries.slice(i, i + MEMBERS_PER_CALL)));
          yield plan;
        }
      }
    }
    for (const [key, ids] of [
      [this.live.forTag(this.tag()).hosts(scope), h.hosts],
      [this.live.forTag(this.tag()).viewers(scope), h.viewers],
    ] as const) {
      for (let i = 0; i < (ids?.length ?? 0); i += MEMBERS_PER_CALL) {
        const plan = emptyPlan();
        plan.hyperLogLogs.set(key, new Set(ids!.slice(i, i + MEMBERS_PER_CALL)));
        yield plan;
      }
    }
  }

  private call<T>(command: string, ...args: unknown[]): Promise<T> {
    return (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[command]!(...args).catch(
      (err: unknown) => {
        throw liveStateError(err) ?? err;
      },
    );
  }
}

/** The first minute bucket still kept at `now` (older ones have expired). */
export function oldestKeptMinute(now: number): number {
  return liveLayout.minuteOf(liveLayout.bucketsExpireBefore(now));
}

function emptyPlan(): LivePlan {
  return { hashes: new Map(), hyperLogLogs: new Map(), sortedSets: new Map(), expiring: new Map() };
}
