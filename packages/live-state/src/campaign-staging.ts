import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LIMITS } from '@livetally/events';
import { encodeChangedScopes } from './changes';
import { campaignLivePointerKey, generationScope } from './campaign-scopes';
import { DEFAULT_KEY_PREFIX, keySpace, partitionTag, partitionsOf, type KeySpace } from './keys';
import * as liveLayout from './live-keys';
import { encodeLivePlan, type LivePlan } from './live-plan';
import { LIVE_STATE_GATE, REFRESH_LOCK, RELEASE_LOCK, liveStateError } from './live-state';
import { LIVE_OPS_LOOP } from './redis-store';

/**
 * A campaign backfill builds the campaign's new live figures aside and swaps them in with
 * one atomic step; readers keep seeing the previous figures until then. Per partition
 * (ADR 0003, "Campaign catalogue and backfill"): every script touches one slot.
 *
 * The figures of a backfill generation `g` live under the scope `campaign:<id>@<g>`
 * (generationScope): that scope is the staging scope while the backfill runs and becomes
 * the live scope at the swap, without a key being renamed. The catalogue's live pointer
 * (`{campaigns}:live`, id → generation) names the live one; readers resolve
 * `campaign:<id>` through it (resolveLiveScopes).
 *
 * 1. Cut, in the campaign slot: registers `g` in the staging registry and bumps the
 *    catalogue version to V (reading the definition and the pending entry). Then, for
 *    each registered partition p of the topic (registry read after the bump), one script
 *    in p's slot: raises p's catalogue copy `cv:{p}` to V, copies `g` into p's generation
 *    hash `cg:{p}`, empties p's shares of `g`'s scope and reads p's applied offset,
 *    `upTo[p]`. A batch of p applied before that script either was planned against a
 *    version below V (it did not write `g`) or against V (it wrote `g`, and the script
 *    then emptied it); either way its offset is at or below `upTo[p]`, so ClickHouse
 *    history covers it once p's durable offset reaches it. A batch applied after it is
 *    planned against V or later (the apply refuses older ones): it writes `g` and lies
 *    above `upTo[p]`. A partition registered after the registry read took the version
 *    after registering, so it holds V or later from its first batch and has no history.
 * 2. Stage: p's history rows up to `upTo[p]` (`kafka_partition = p`) go into p's share of
 *    `g`, each call fenced by `cg:{p}` (a newer cut replaced it: the call writes nothing).
 * 3. Swap, one script in the campaign slot, only while `g` is still registered: points
 *    the live pointer at `g`, unregisters it, clears the pending entry if unchanged since
 *    the cut, bumps the version. Readers that resolve after it sum `g`'s shares; before
 *    it, the previous generation's: never both. A batch planned before the swap wrote
 *    both the old generation and `g`, one after it only `g`: `g` counts each event once.
 * 4. Retire: per partition, one script raises the copy to the swap's version (so no batch
 *    planned before the swap can write the old generation again) and deletes the old
 *    generation's shares. The runner waits RETIRE_GRACE_MS first, so a reader that
 *    resolved the old name just before the swap finishes its read.
 *
 * Anything that changes which events the campaign covers (a save, a catalogue restore)
 * unregisters `g` in the campaign slot, so a backfill of an older definition can never
 * swap in.
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
  /** Channel a save or a swap publishes the campaign id on. */
  changes: string;
}

/** A campaign being backfilled: its id and the scope readers ask for (`campaign:<id>`). */
export interface StagedScope {
  /** Field of the staging registry, the live pointer and the pending hash (the campaign id). */
  id: string;
  /** The readers' name of its live figures (`campaign:<id>`), named in change messages. */
  live: string;
}

export interface CampaignCut {
  gen: string;
  /** The definition in the catalogue at the cut (JSON): the figures are built for it. */
  definition: string;
  /** The pending entry the cut serves; the swap clears it if it did not change since. */
  pending: string;
  /** Applied offset per partition at the cut. */
  upTo: Map<number, string>;
  /** The catalogue version the cut made (every partition's copy holds it or more). */
  version: number;
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
 * which may run ahead of this one. Cut and retire cover minutes up to this far ahead.
 */
const LATEST_MINUTE_AHEAD_MS = LIMITS.maxFutureSkewMs + 10 * liveLayout.MINUTE_MS;
/** Ids or leaderboard members per fenced write: bounds how long one call holds Redis. */
const MEMBERS_PER_CALL = 5_000;
/** How long after a swap the previous generation's shares are kept for readers that resolved it just before. */
export const RETIRE_GRACE_MS = 2_000;

// Campaign slot. KEYS: catalogue, catalogue version, pending, staging registry.
// ARGV: id, new generation. Returns {0} when the campaign has no definition or nothing
// pending (nothing to do), else {1, definition, pending entry, new version}.
const CUT = `
local definition = redis.call('HGET', KEYS[1], ARGV[1])
local pending = redis.call('HGET', KEYS[3], ARGV[1])
if not definition or not pending then return {0} end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
local version = redis.call('INCR', KEYS[2])
return {1, definition, pending, version}`;

// RAISE is shared by the partition cut and the retire: KEYS[4] the partition's catalogue
// copy, ARGV[3] the version (copies only grow).
const RAISE = `
local v = tonumber(redis.call('GET', KEYS[4]) or '0') or 0
if tonumber(ARGV[3]) > v then redis.call('SET', KEYS[4], ARGV[3]) end`;

// Partition slot. KEYS: offsets, marker, lock, catalogue copy, generation hash, then the
// generation's share keys (emptied). ARGV: id, generation, version, partition.
// Returns the partition's applied offset (false when it has none).
const CUT_PARTITION = `${LIVE_STATE_GATE}
${RAISE}
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
for i = 6, #KEYS do redis.call('DEL', KEYS[i]) end
return redis.call('HGET', KEYS[1], ARGV[4])`;

// Partition slot. KEYS: generation hash, marker, lock, then the keys of the ops. ARGV:
// id, generation, ops (JSON, as encodeLivePlan makes them). Returns 0, writing nothing,
// when a newer cut replaced the generation in this partition.
const STAGE = `${LIVE_STATE_GATE}
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local ops = cjson.decode(ARGV[3])
local a = 1
local base = 3
${LIVE_OPS_LOOP}
return 1`;

// Campaign slot. KEYS: staging registry, pending, catalogue version, live pointer.
// ARGV: id, generation, pending entry seen at the cut, change channel.
// Returns {0} (nothing changed) when the generation is no longer registered, else
// {1, new version, previous generation or ''}.
const SWAP = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {0} end
local previous = redis.call('HGET', KEYS[4], ARGV[1]) or ''
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[2], ARGV[1]) end
local version = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return {1, version, previous}`;

// Partition slot. KEYS: offsets, marker, lock, catalogue copy, then the retired
// generation's share keys. ARGV: '1' when the retired generation is the campaign's first
// figures, unused, swap's version, change channel, change message. Deletes the shares and
// tells the partition's readers. The first figures' name is the one a rebuild writes a
// campaign's shares under (its live pointer lost with the rest): a partition whose catalogue
// copy is already past the swap's version was rewritten after the swap (or the catalogue
// changed again), so its shares under that name may be live: they are kept (returns 2).
const RETIRE = `
if ARGV[1] == '1' and (tonumber(redis.call('GET', KEYS[4]) or '0') or 0) > tonumber(ARGV[3]) then return 2 end
${RAISE}
for i = 5, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SPUBLISH', ARGV[4], ARGV[5])
return 1`;

/** A held lease; `lost` turns true when a refresh found another holder. */
export interface CampaignLease {
  readonly token: string;
  lost: boolean;
  release(): Promise<void>;
}

/** What a swap did: the generation it replaced (to retire) and the catalogue version it made. */
export interface CampaignSwap {
  version: number;
  /** The stored scope of the figures it replaced (`campaign:<id>` or `campaign:<id>@<gen>`). */
  retired: string;
  /** The stored scope now live. */
  live: string;
}

/** The Redis side of a campaign backfill: lease, cut, fenced staging writes, swap and retire. */
export class CampaignStaging {
  private readonly keys: KeySpace;
  private readonly live: liveLayout.LiveKeySpace;
  private readonly pointer: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix?: string; topic: string; keys: CampaignStagingKeys },
  ) {
    this.keys = keySpace(options.prefix);
    this.live = liveLayout.liveKeys(options.prefix);
    this.pointer = campaignLivePointerKey(options.prefix);
    redis.defineCommand('ltCampaignCut', { lua: CUT, numberOfKeys: 4 });
    redis.defineCommand('ltCampaignCutPartition', { lua: CUT_PARTITION });
    redis.defineCommand('ltCampaignStage', { lua: STAGE });
    redis.defineCommand('ltCampaignSwap', { lua: SWAP, numberOfKeys: 4 });
    redis.defineCommand('ltCampaignRetire', { lua: RETIRE });
    redis.defineCommand('ltRefreshCampaignLease', { lua: REFRESH_LOCK, numberOfKeys: 1 });
    redis.defineCommand('ltReleaseCampaignLease', { lua: RELEASE_LOCK, numberOfKeys: 1 });
  }

  private tag(partition: number): string {
    return partitionTag(this.options.topic, partition);
  }

  /** The partition's offsets hash (the cut reads it; the backfill waits for its durable offset). */
  offsetsKey(partition: number): string {
    return this.keys.offsets(this.tag(partition));
  }

  /** The partition's hash of backfill generations (id → generation), which fences staging writes. */
  generationsKey(partition: number): string {
    return `${this.options.prefix ?? DEFAULT_KEY_PREFIX}:cg:{${this.tag(partition)}}`;
  }

  async isPending(id: string): Promise<boolean> {
    return (await this.redis.hexists(this.options.keys.pending, id)) === 1;
  }

  /** The stored scope of the campaign's live figures now (through the live pointer). */
  async liveScope(id: string): Promise<string> {
    return generationScope(id, await this.redis.hget(this.pointer, id));
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
    const reply = await this.call<[number, string?, string?, number?]>(
      'ltCampaignCut',
      k.catalogue,
      k.version,
      k.pending,
      k.staging,
      scope.id,
      gen,
    );
    if (reply[0] !== 1) return null;
    const version = reply[3]!;
    // Read after the bump: a partition registered later copies V or more at its take.
    const partitions = partitionsOf(await this.redis.smembers(this.keys.partitions), this.options.topic);
    const staged = generationScope(scope.id, gen);
    const upTo = new Map<number, string>();
    await Promise.all(
      partitions.map(async (p) => {
        const tag = this.tag(p);
        const shares = this.scopeKeys(tag, staged, sinceMinute, now);
        const applied = await this.call<string | null>(
          'ltCampaignCutPartition',
          5 + shares.length,
          this.keys.offsets(tag),
          this.keys.liveState(tag),
          this.keys.rebuildLock(tag),
          this.keys.catalogueVersion(tag),
          this.generationsKey(p),
          shares,
          scope.id,
          gen,
          version,
          String(p),
        );
        if (applied !== null && applied !== undefined) upTo.set(p, applied);
      }),
    );
    return { gen, definition: reply[1]!, pending: reply[2]!, upTo, now, sinceMinute, version };
  }

  /**
   * Step 2: adds one partition's history (rows of `kafka_partition = partition` up to the
   * cut) to its share of the generation, in bounded calls; false (the rest unwritten)
   * once a newer cut replaced the generation.
   */
  async stage(scope: StagedScope, cut: CampaignCut, partition: number, history: StagedHistory): Promise<boolean> {
    const tag = this.tag(partition);
    for (const plan of this.plansOf(tag, generationScope(scope.id, cut.gen), history, cut.now)) {
      const { keys, args } = encodeLivePlan(plan);
      if (args.length === 0) continue;
      const ok = await this.call<number>(
        'ltCampaignStage',
        3 + keys.length,
        this.generationsKey(partition),
        this.keys.liveState(tag),
        this.keys.rebuildLock(tag),
        keys,
        scope.id,
        cut.gen,
        JSON.stringify(args),
      );
      if (ok !== 1) return false;
    }
    return true;
  }

  /** Step 3: points the live scope at the generation; null (nothing changed) when the generation lost. */
  async swap(scope: StagedScope, cut: CampaignCut): Promise<CampaignSwap | null> {
    const k = this.options.keys;
    const reply = await this.call<[number, number?, string?]>(
      'ltCampaignSwap',
      k.staging,
      k.pending,
      k.version,
      this.pointer,
      scope.id,
      cut.gen,
      cut.pending,
      k.changes,
    );
    if (reply[0] !== 1) return null;
    return {
      version: reply[1]!,
      retired: generationScope(scope.id, reply[2] || null),
      live: generationScope(scope.id, cut.gen),
    };
  }

  /**
   * Step 4: per partition, raises the catalogue copy to the swap's version and deletes the
   * retired generation's shares (minute buckets from `sinceMinute` to the latest that can
   * exist at `now`), telling the partition's readers the campaign changed. Call it
   * RETIRE_GRACE_MS after the swap.
   */
  async retire(scope: StagedScope, swap: CampaignSwap, sinceMinute: number, now: number): Promise<void> {
    const partitions = partitionsOf(await this.redis.smembers(this.keys.partitions), this.options.topic);
    await Promise.all(
      partitions.map(async (p) => {
        const tag = this.tag(p);
        const shares = this.scopeKeys(tag, swap.retired, sinceMinute, now);
        await this.call(
          'ltCampaignRetire',
          4 + shares.length,
          this.keys.offsets(tag),
          this.keys.liveState(tag),
          this.keys.rebuildLock(tag),
          this.keys.catalogueVersion(tag),
          shares,
          swap.retired === generationScope(scope.id, null) ? '1' : '',
          '',
          swap.version,
          this.keys.changesChannel(tag),
          encodeChangedScopes([scope.live]),
        );
      }),
    );
  }

  /** Every key of a partition's share of a stored scope, minute buckets from `sinceMinute` to the latest one that can exist at `now`. */
  private scopeKeys(tag: string, scope: string, sinceMinute: number, now: number): string[] {
    const live = this.live.forTag(tag);
    const keys = [this.keys.totals(tag, scope), live.viewers(scope), live.hosts(scope)];
    for (const d of liveLayout.RANK_DIMENSIONS)
      for (const m of liveLayout.RANK_MEASURES) keys.push(live.ranking(scope, d, m));
    for (let t = sinceMinute; t <= now + LATEST_MINUTE_AHEAD_MS; t += liveLayout.MINUTE_MS)
      keys.push(live.minute(scope, t));
    return keys;
  }

  /** The history as live plans of bounded size: totals and minute buckets, then leaderboards and HyperLogLogs in slices. */
  private *plansOf(tag: string, scope: string, h: StagedHistory, now: number): Generator<LivePlan> {
    const live = this.live.forTag(tag);
    const head = emptyPlan();
    if (h.totals) head.hashes.set(this.keys.totals(tag, scope), new Map(Object.entries(h.totals)));
    for (const m of h.minutes ?? []) {
      const key = live.minute(scope, m.t);
      head.hashes.set(key, new Map(Object.entries(m.totals)));
      head.expiring.set(key, liveLayout.minuteBucketTtl(m.t, now));
    }
    yield head;
    for (const [dimension, byMeasure] of Object.entries(h.rankings ?? {})) {
      for (const [measure, members] of Object.entries(byMeasure)) {
        const key = live.ranking(
          scope,
          dimension as liveLayout.LiveRankDimension,
          measure as liveLayout.LiveRankMeasure,
        );
        const entries = Object.entries(members);
        for (let i = 0; i < entries.length; i += MEMBERS_PER_CALL) {
          const plan = emptyPlan();
          plan.sortedSets.set(key, new Map(entries.slice(i, i + MEMBERS_PER_CALL)));
          yield plan;
        }
      }
    }
    for (const [key, ids] of [
      [live.hosts(scope), h.hosts],
      [live.viewers(scope), h.viewers],
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
