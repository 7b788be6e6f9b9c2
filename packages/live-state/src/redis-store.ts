import type { Redis } from 'ioredis';
import { encodeChangedScopes } from './changes';
import { keySpace, type KeySpace } from './keys';
import { liveKeys, type LiveKeys } from './live-keys';
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
// while Redis holds no live state (KEYS[2] marker missing, after data loss) or a
// rebuild runs (KEYS[3] lock present): see live-state.ts.
//
// KEYS: offsets hash, live-state marker, rebuild lock, campaign catalogue version,
// then the totals keys, then the keys of the live ops (minute buckets, HyperLogLogs,
// leaderboards). A batch planned against an older campaign catalogue is refused
// ({2, version}) so a campaign backfill's cut never misses live events.
//
// ARGV[7] carries the batch's writes as one JSON array (count of totals keys, per
// totals key its field count and field/delta pairs, then the live ops): a batch is
// tens of thousands of values, and one string costs the client a fraction of what as
// many separate arguments do, while cjson decodes it in C. Integers stay exact: cjson
// and the conversion back to a command argument are exact below 2^53.
const APPLY_BATCH = `${LIVE_STATE_GATE}
local owner = redis.call('HGET', KEYS[1], 'gen:' .. ARGV[1])
if owner ~= ARGV[8] then return {3, owner or '0'} end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then cur = '-1' end
if cur ~= ARGV[2] then return {0, cur} end
if ARGV[6] ~= '' then
  local v = redis.call('GET', KEYS[4])
  if not v then v = '0' end
  if v ~= ARGV[6] then return {2, v} end
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
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return {1, ARGV[3]}
`;

// Ownership of a partition (ADR 0001). KEYS: offsets hash, marker, lock. ARGV: partition,
// floor (the highest generation ClickHouse has seen). Returns the new generation, above
// every earlier one even after Redis lost it, and the partition's applied and durable offsets.
const TAKE_PARTITION = `${LIVE_STATE_GATE}
local field = 'gen:' .. ARGV[1]
local gen = redis.call('HINCRBY', KEYS[1], field, 1)
local floor = tonumber(ARGV[2])
if gen <= floor then
  gen = floor + 1
  redis.call('HSET', KEYS[1], field, gen)
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
  /** The campaign catalogue the batch was matched against; refused if it moved on. */
  catalogue?: { key: string; version: number };
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
  readonly liveKeys: LiveKeys;

  constructor(
    private readonly redis: Redis,
    options: { prefix?: string; observer?: CounterStoreObserver } = {},
  ) {
    this.keys = keySpace(options.prefix);
    this.liveKeys = liveKeys(options.prefix);
    this.observer = options.observer ?? {};
    redis.defineCommand('ltApplyBatch', { lua: APPLY_BATCH });
    redis.defineCommand('ltTakePartition', { lua: TAKE_PARTITION, numberOfKeys: 3 });
    redis.defineCommand('ltMarkDurable', { lua: MARK_DURABLE, numberOfKeys: 1 });
  }

  private readonly observer: CounterStoreObserver;

  async appliedOffset(topic: string, partition: number): Promise<string> {
    return (await this.redis.hget(this.keys.appliedOffsets(topic), String(partition))) ?? '-1';
  }

  async appliedOffsets(topic: string): Promise<Map<number, string>> {
    const all = await this.redis.hgetall(this.keys.appliedOffsets(topic));
    return new Map(
      Object.entries(all)
        .filter(([p]) => /^\d+$/.test(p))
        .map(([p, o]) => [Number(p), o]),
    );
  }

  /**
   * Takes ownership of a partition: a generation above every earlier owner's (and above
   * `floor`, ClickHouse's highest), so the earlier owners' applies and durable marks are refused.
   */
  async takePartition(topic: string, partition: number, floor: number): Promise<PartitionTakeover> {
    const [gen, applied, durable] = await this.call<[string, string, string]>(
      'ltTakePartition',
      this.keys.appliedOffsets(topic),
      this.keys.liveState,
      this.keys.rebuildLock,
      String(partition),
      String(floor),
    );
    return { gen: Number(gen), applied, durable };
  }

  /** Records that both stores hold the partition up to `offset`; false when `ownerGen` no longer owns it or Redis's applied offset is below `offset`. */
  async markDurable(topic: string, partition: number, ownerGen: number, offset: string): Promise<boolean> {
    return (
      (await this.call<number>(
        'ltMarkDurable',
        this.keys.appliedOffsets(topic),
        String(partition),
        String(ownerGen),
        offset,
      )) === 1
    );
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

  async applyBatch(input: ApplyBatchInput): Promise<ApplyOutcome> {
    const started = performance.now();
    const keys = [
      this.keys.appliedOffsets(input.topic),
      this.keys.liveState,
      this.keys.rebuildLock,
      input.catalogue?.key ?? this.keys.liveState,
    ];
    const ops: (string | number)[] = [0];
    const scopes: string[] = [];
    for (const [scope, delta] of input.deltas) {
      let fields = 0;
      for (const f of TOTAL_FIELDS) if ((delta[f] ?? 0) !== 0) fields++;
      if (fields === 0) continue;
      scopes.push(scope);
      keys.push(this.keys.totals(scope));
      ops.push(fields);
      for (const f of TOTAL_FIELDS) {
        const d = delta[f] ?? 0;
        if (d !== 0) ops.push(f, d);
      }
    }
    ops[0] = scopes.length;
    const liveKeys = input.live?.keys ?? [];
    const encoded = encodeOps(ops, input.live?.args);
    const args = [
      String(input.partition),
      input.expectedOffset,
      input.newOffset,
      this.keys.changesChannel,
      scopes.length > 0 ? encodeChangedScopes(scopes) : '',
      input.catalogue ? String(input.catalogue.version) : '',
      encoded,
      String(input.ownerGen),
    ];
    // Arrays, not spread arguments: a large batch has thousands of keys (ioredis flattens them).
    const [ok, current] = await this.call<[number, string]>(
      'ltApplyBatch',
      keys.length + liveKeys.length,
      keys,
      liveKeys,
      args,
    );
    this.observer.onApply?.(performance.now() - started, scopes.length, ok === 1);
    if (ok === 2) return { applied: false, staleCatalogue: true, catalogueVersion: Number(current) };
    if (ok === 3) return { applied: false, staleOwner: true };
    return ok === 1 ? { applied: true } : { applied: false, currentOffset: current };
  }

  async readTotals(scopes: readonly string[]): Promise<Map<string, Totals>> {
    const pipeline = this.redis.pipeline();
    for (const s of scopes) pipeline.hgetall(this.keys.totals(s));
    const replies = (await pipeline.exec()) ?? [];
    const out = new Map<string, Totals>();
    scopes.forEach((scope, i) => {
      const [err, hash] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      out.set(scope, totalsFromHash(hash as Record<string, string>));
    });
    return out;
  }
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
