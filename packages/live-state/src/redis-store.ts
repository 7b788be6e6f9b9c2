import { resolveLiveScopes } from './campaign-scopes';
import { campaignKeys } from './campaign-catalogue';
import { encodeChangedScopes } from './changes';
import { readGrouped } from './cluster/grouped-pipeline';
import type { AnyRedis } from './cluster/redis-client';
import { keySpace, partitionTag, partitionsOf, type KeySpace } from './keys';
import { liveKeys, type LiveKeySpace, type LiveKeys } from './live-keys';
import { TOTAL_FIELDS, emptyTotals, type Deltas, type Totals } from './totals';
import { LIVE_STATE_GATE, liveStateError } from './live-state';

/**
 * Lua: runs the live ops of `ops` (a decoded op list, see encodeLivePlan) from index `a`
 * against KEYS[base + key index]. Needs the locals ops, a and base. Shared by the
 * batch apply below and the campaign backfill's fenced staging writes (campaign-staging.ts).
 */
export const LIVE_OPS_LOOP = `local count = #ops
while a <= count do
  local op = ops[a]
  local key = KEYS[base + ops[a + 1]]
  if op == 'H' then
    redis.call('HINCRBY', key, ops[a + 2], ops[a + 3]); a = a + 4
  elseif op == 'Z' then
    redis.call('ZINCRBY', key, ops[a + 3], ops[a + 2]); a = a + 4
  elseif op == 'E' then
    redis.call('EXPIRE', key, ops[a + 2]); a = a + 3
  elseif op == 'P' then
    local n = ops[a + 2]; local first = a + 3
    -- unpack in slices: Lua's C stack takes a few thousand values at most
    for s = first, first + n - 1, 1000 do
      redis.call('PFADD', key, unpack(ops, s, math.min(s + 999, first + n - 1)))
    end
    a = first + n
  else
    return redis.error_reply('LTBADOP ' .. tostring(op))
  end
end`;

// Counter deltas and the partition's applied offset change in one atomic step, and
// only if the caller still owns the partition (ARGV[8], its owner generation: a paused
// former owner is refused, {3, current owner}) and the offset is still the one it read:
// a replayed or concurrently processed batch can never be counted twice. The scripts refuse
// while Redis holds no live state for the partition (KEYS[2] marker missing, after data
// loss) or a rebuild of it runs (KEYS[3] lock present): see live-state.ts.
//
// Every key is the partition's (ADR 0003: tag {<topic>/<p>}), so the script touches one
// Redis Cluster slot. KEYS: offsets hash, live-state marker, rebuild lock, the partition's
// copy of the campaign catalogue version, then the partition's shares of the totals keys,
// then the keys of the live ops (the partition's minute buckets, HyperLogLogs,
// leaderboards). A batch planned against an older campaign catalogue than the partition's
// copy is refused ({2, version}) so a campaign backfill's cut never misses live events; a
// batch planned against a newer one raises the copy (the copy lags the catalogue, whose
// versions only grow: a worker that read version V saw it current, so raising to V is the
// catalogue change reaching this partition, ADR 0003 "Campaign catalogue and backfill").
//
// ARGV[7] carries the batch's writes as one JSON array (count of totals keys, per
// totals key its field count and field/delta pairs, then the live ops): a batch is
// tens of thousands of values, and one string costs the client a fraction of what as
// many separate arguments do, while cjson decodes it in C. Integers stay exact: cjson
// and the conversion back to a command argument are exact below 2^53.
// The change message goes out with SPUBLISH on the partition's own channel (ARGV[4]),
// which a script may do in its slot on a cluster (and on one Redis 7).
const APPLY_BATCH = `${LIVE_STATE_GATE}
local owner = redis.call('HGET', KEYS[1], 'gen:' .. ARGV[1])
if owner ~= ARGV[8] then return {3, owner or '0'} end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then cur = '-1' end
if cur ~= ARGV[2] then return {0, cur} end
if ARGV[6] ~= '' then
  local v = redis.call('GET', KEYS[4])
  if not v then v = '0' end
  if v ~= ARGV[6] then
    if tonumber(ARGV[6]) < tonumber(v) then return {2, v} end
    redis.call('SET', KEYS[4], ARGV[6])
  end
end
local ops = cjson.decode(ARGV[7])
local t = ops[1]
local a = 2
for i = 5, 4 + t do
  local n = ops[a]; a = a + 1
  for j = 1, n do
    redis.call('HINCRBY', KEYS[i], ops[a], ops[a + 1]); a = a + 2
  end
end
local base = 4 + t
${LIVE_OPS_LOOP}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[5] ~= '' then redis.call('SPUBLISH', ARGV[4], ARGV[5]) end
return {1, ARGV[3]}
`;

// Ownership of a partition (ADR 0001). KEYS: the partition's offsets hash, marker, lock,
// copy of the campaign catalogue version. ARGV: partition, floor (the highest generation
// ClickHouse has seen), the catalogue version read just before ('' when none). Returns the
// new generation, above every earlier one even after Redis lost it, and the partition's
// applied and durable offsets. Raises the partition's catalogue copy (ADR 0003): a
// catalogue change that read the registry before this partition was registered did not.
const TAKE_PARTITION = `${LIVE_STATE_GATE}
local field = 'gen:' .. ARGV[1]
local gen = redis.call('HINCRBY', KEYS[1], field, 1)
local floor = tonumber(ARGV[2])
if gen <= floor then
  gen = floor + 1
  redis.call('HSET', KEYS[1], field, gen)
end
if ARGV[3] ~= '' and tonumber(ARGV[3]) > (tonumber(redis.call('GET', KEYS[4]) or '0') or 0) then
  redis.call('SET', KEYS[4], ARGV[3])
end
return {tostring(gen), redis.call('HGET', KEYS[1], ARGV[1]) or '-1', redis.call('HGET', KEYS[1], 'durable:' .. ARGV[1]) or '-1'}
`;

// Both stores hold the partition up to ARGV[3]; only its owner (generation ARGV[2]) may say so,
// and only while Redis still holds that offset as applied: a Redis restored from an older
// snapshot (same generation, applied offset moved back) would otherwise be marked durable
// beyond what it holds, and the next owner would never apply those events again.
const MARK_DURABLE = `
if redis.call('HGET', KEYS[1], 'gen:' .. ARGV[1]) ~= ARGV[2] then return 0 end
local applied = redis.call('HGET', KEYS[1], ARGV[1])
if not applied or tonumber(applied) < tonumber(ARGV[3]) then return 0 end
local field = 'durable:' .. ARGV[1]
local cur = redis.call('HGET', KEYS[1], field)
if not cur or tonumber(cur) < tonumber(ARGV[3]) then redis.call('HSET', KEYS[1], field, ARGV[3]) end
return 1
`;

/** What a new owner of a partition starts from. */
export interface PartitionTakeover {
  gen: number;
  /** Last offset applied to Redis; "-1" when none. */
  applied: string;
  /** Last offset both stores are known to hold; "-1" when none. */
  durable: string;
}

export interface ApplyBatchInput {
  topic: string;
  partition: number;
  /** The caller's owner generation of the partition; refused when another owner took it since. */
  ownerGen: number;
  /** Offset read before processing; "-1" when the partition has none yet. */
  expectedOffset: string;
  /** Last offset this batch covers. */
  newOffset: string;
  deltas: Deltas;
  /** Minute buckets, HyperLogLogs and leaderboards, applied in the same atomic step. */
  live?: { keys: string[]; args: (string | number)[] };
  /**
   * The campaign catalogue version the batch was matched against; refused if the
   * partition's copy of the version moved past it. (`key`, the catalogue's own version
   * key, is not read by the apply: the partition keeps its copy, ADR 0003.)
   */
  catalogue?: { key?: string; version: number };
}

export type ApplyOutcome =
  | { applied: true }
  | { applied: false; currentOffset: string }
  /** Another worker took the partition (a newer owner generation): stop writing it. */
  | { applied: false; staleOwner: true }
  /** The campaign catalogue changed: re-match the batch against the new one and apply again. */
  | { applied: false; staleCatalogue: true; catalogueVersion: number };

export interface CounterStoreObserver {
  onApply?(durationMs: number, scopes: number, applied: boolean): void;
}

export class RedisCounterStore {
  readonly keys: KeySpace;
  /** The live measures' keys; `liveKeys.partition(topic, p)` is what a batch of that partition writes. */
  readonly liveKeys: LiveKeySpace;

  constructor(
    private readonly redis: AnyRedis,
    options: { prefix?: string; observer?: CounterStoreObserver } = {},
  ) {
    this.keys = keySpace(options.prefix);
    this.liveKeys = liveKeys(options.prefix);
    this.catalogueVersionKey = campaignKeys(options.prefix).version;
    this.observer = options.observer ?? {};
    redis.defineCommand('ltApplyBatch', { lua: APPLY_BATCH });
    redis.defineCommand('ltTakePartition', { lua: TAKE_PARTITION, numberOfKeys: 4 });
    redis.defineCommand('ltMarkDurable', { lua: MARK_DURABLE, numberOfKeys: 1 });
  }

  private readonly observer: CounterStoreObserver;
  /** The campaign catalogue's version (campaign slot), copied to a partition when it is taken. */
  private readonly catalogueVersionKey: string;

  /** The live keys a batch of this partition writes (its share of every scope). */
  partitionKeys(topic: string, partition: number): LiveKeys {
    return this.liveKeys.partition(topic, partition);
  }

  async appliedOffset(topic: string, partition: number): Promise<string> {
    return (await this.redis.hget(this.keys.offsets(partitionTag(topic, partition)), String(partition))) ?? '-1';
  }

  /** Every partition tag in the registry (`<topic>/<p>`, see KeySpace.partitions). */
  async partitionTags(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.partitions)).sort();
  }

  /** The topic's partitions in the registry. */
  async partitions(topic: string): Promise<number[]> {
    return partitionsOf(await this.redis.smembers(this.keys.partitions), topic);
  }

  /** Applied offset per registered partition of the topic (partitions without one left out). */
  async appliedOffsets(topic: string): Promise<Map<number, string>> {
    const offsets = await this.offsetFields(topic);
    const out = new Map<number, string>();
    for (const [p, hash] of offsets) if (hash[String(p)] !== undefined) out.set(p, hash[String(p)]!);
    return out;
  }

  /** Each registered partition's offsets hash (applied `<p>`, `gen:<p>`, `durable:<p>`, `claimed:<p>`). */
  async offsetFields(topic: string): Promise<Map<number, Record<string, string>>> {
    const partitions = await this.partitions(topic);
    const hashes = await readGrouped<Record<string, string>>(
      this.redis,
      partitions.map((p) => {
        const key = this.keys.offsets(partitionTag(topic, p));
        return { key, queue: (pipeline) => pipeline.hgetall(key) };
      }),
    );
    return new Map(partitions.map((p, i) => [p, hashes[i]!]));
  }

  /**
   * Takes ownership of a partition: a generation above every earlier owner's (and above
   * `floor`, ClickHouse's highest), so the earlier owners' applies and durable marks are refused.
   * Registers the partition first (readers sum shares over the registry; idempotent).
   */
  async takePartition(topic: string, partition: number, floor: number): Promise<PartitionTakeover> {
    const tag = partitionTag(topic, partition);
    await this.register(tag);
    // Read after registering: a catalogue change either saw the partition in the registry
    // (and raises its copy itself) or bumped the version before this read.
    const catalogueVersion = await this.redis.get(this.catalogueVersionKey);
    const [gen, applied, durable] = await this.call<[string, string, string]>(
      'ltTakePartition',
      this.keys.offsets(tag),
      this.keys.liveState(tag),
      this.keys.rebuildLock(tag),
      this.keys.catalogueVersion(tag),
      String(partition),
      String(floor),
      catalogueVersion ?? '',
    );
    // Once more after the script: the registry is not in the partition's slot, so a Redis
    // restored from a snapshot (or the registry's master failed over) between the SADD above
    // and the script would hold the partition's generation, and soon its shares, without
    // its registration, and readers would leave its shares out of every sum.
    await this.register(tag);
    return { gen: Number(gen), applied, durable };
  }

  /**
   * Registers the partition (SADD, idempotent). Readers sum shares over the registry, which
   * lives in a slot of its own: nothing atomic ties it to the partition's state, so the
   * owner registers the partition again with every apply and durable mark (see applyBatch).
   */
  private register(tag: string): Promise<number> {
    return this.redis.sadd(this.keys.partitions, tag);
  }

  /** Records that both stores hold the partition up to `offset`; false when `ownerGen` no longer owns it or Redis's applied offset is below `offset`. */
  async markDurable(topic: string, partition: number, ownerGen: number, offset: string): Promise<boolean> {
    const tag = partitionTag(topic, partition);
    const [marked] = await Promise.all([
      this.call<number>('ltMarkDurable', this.keys.offsets(tag), String(partition), String(ownerGen), offset),
      // After the partition's last apply too: a registration lost since is restored (see applyBatch).
      this.register(tag),
    ]);
    return marked === 1;
  }

  /**
   * Runs a script command. Arguments may be arrays: ioredis flattens them iteratively,
   * whereas spreading a batch's hundreds of thousands of values into a call overflows
   * the JavaScript stack.
   */
  private call<T>(command: string, ...args: (string | number | (string | number)[])[]): Promise<T> {
    return (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[command]!(...args).catch(
      (err: unknown) => {
        throw liveStateError(err) ?? err;
      },
    );
  }

  /**
   * Applies a partition batch: its share of every scope's totals, its live ops
   * (`input.live`, planned with `partitionKeys(topic, partition)`: keys of another
   * partition are refused here, before Redis, as they would break the one-slot rule) and
   * its applied offset, in one script on the partition's slot.
   */
  async applyBatch(input: ApplyBatchInput): Promise<ApplyOutcome> {
    const started = performance.now();
    const tag = partitionTag(input.topic, input.partition);
    const keys = [
      this.keys.offsets(tag),
      this.keys.liveState(tag),
      this.keys.rebuildLock(tag),
      this.keys.catalogueVersion(tag),
    ];
    const ops: (string | number)[] = [0];
    const scopes: string[] = [];
    for (const [scope, delta] of input.deltas) {
      let fields = 0;
      for (const f of TOTAL_FIELDS) if ((delta[f] ?? 0) !== 0) fields++;
      if (fields === 0) continue;
      scopes.push(scope);
      keys.push(this.keys.totals(tag, scope));
      ops.push(fields);
      for (const f of TOTAL_FIELDS) {
        const d = delta[f] ?? 0;
        if (d !== 0) ops.push(f, d);
      }
    }
    ops[0] = scopes.length;
    const liveKeys = input.live?.keys ?? [];
    const tagged = `{${tag}}`;
    const foreign = liveKeys.find((k) => !k.includes(tagged));
    if (foreign !== undefined)
      throw new Error(
        `live key ${foreign} is not partition ${tag}'s: plan the batch with partitionKeys(topic, partition)`,
      );
    const encoded = encodeOps(ops, input.live?.args);
    const args = [
      String(input.partition),
      input.expectedOffset,
      input.newOffset,
      this.keys.changesChannel(tag),
      scopes.length > 0 ? encodeChangedScopes(scopes) : '',
      input.catalogue ? String(input.catalogue.version) : '',
      encoded,
      String(input.ownerGen),
    ];
    // Arrays, not spread arguments: a large batch has thousands of keys (ioredis flattens them).
    // The partition is registered again beside every apply (sent together, no extra round
    // trip): readers sum only registered partitions, and the registry (its own slot) can lose
    // the partition while the partition's slot keeps its state — a Redis restored from a
    // snapshot between a take's SADD and its script, or a failover of the registry's master
    // to a replica that lacked the SADD. Shares written by an apply are then never left out
    // of the sums for longer than that apply's reply.
    const [[ok, current]] = await Promise.all([
      this.call<[number, string]>('ltApplyBatch', keys.length + liveKeys.length, keys, liveKeys, args),
      this.register(tag),
    ]);
    this.observer.onApply?.(performance.now() - started, scopes.length, ok === 1);
    if (ok === 2) return { applied: false, staleCatalogue: true, catalogueVersion: Number(current) };
    if (ok === 3) return { applied: false, staleOwner: true };
    return ok === 1 ? { applied: true } : { applied: false, currentOffset: current };
  }

  /**
   * Each scope's totals: the sum of its shares over every registered partition (ADR 0003),
   * read in one pipeline on one Redis, one per slot in parallel on a cluster.
   */
  async readTotals(scopes: readonly string[]): Promise<Map<string, Totals>> {
    // A campaign's live figures are those of its live generation (campaign-scopes.ts).
    const [tags, stored] = await Promise.all([
      this.partitionTags(),
      resolveLiveScopes(this.redis, scopes, this.keys.partitions.slice(0, -':partitions'.length)),
    ]);
    const sums = await sumShares(this.redis, this.keys, tags, stored);
    return new Map(scopes.map((s, i) => [s, sums.get(stored[i]!)!]));
  }
}

/** Each scope's totals summed over the shares of `tags` (the registered partitions). */
export async function sumShares(
  redis: AnyRedis,
  keys: KeySpace,
  tags: readonly string[],
  scopes: readonly string[],
): Promise<Map<string, Totals>> {
  const reads = scopes.flatMap((scope) =>
    tags.map((tag) => {
      const key = keys.totals(tag, scope);
      return { key, queue: (p: ReturnType<AnyRedis['pipeline']>) => void p.hgetall(key) };
    }),
  );
  const hashes = await readGrouped<Record<string, string>>(redis, reads);
  const out = new Map<string, Totals>();
  scopes.forEach((scope, i) => {
    const sum = emptyTotals();
    for (let j = 0; j < tags.length; j++) {
      const share = totalsFromHash(hashes[i * tags.length + j]!);
      for (const f of TOTAL_FIELDS) sum[f] += share[f];
    }
    out.set(scope, sum);
  });
  return out;
}

/** The apply script's ARGV[7]: totals ops then live ops, as one JSON array. */
function encodeOps(totals: (string | number)[], live: readonly (string | number)[] | undefined): string {
  const head = JSON.stringify(totals);
  if (live === undefined || live.length === 0) return head;
  return `${head.slice(0, -1)},${JSON.stringify(live).slice(1)}`;
}

function totalsFromHash(hash: Record<string, string>): Totals {
  const t = emptyTotals();
  for (const f of TOTAL_FIELDS) {
    const raw = hash[f];
    if (raw !== undefined) t[f] = Number(raw);
  }
  return t;
}
