import type { Redis } from 'ioredis';
import { keySpace, type KeySpace } from './keys';
import { TOTAL_FIELDS, emptyTotals, type Deltas, type Totals } from './totals';
import { LIVE_STATE_GATE, liveStateError } from './live-state';

// Counter deltas and the partition's applied offset change in one atomic step, and
// only if the offset is still the one the caller read: a replayed or concurrently
// processed batch (rebalance overlap) can never be counted twice. Both scripts refuse
// while Redis holds no live state (KEYS[2] marker missing, after data loss) or a
// rebuild runs (KEYS[3] lock present): see live-state.ts.
const APPLY_BATCH = `${LIVE_STATE_GATE}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then cur = '-1' end
if cur ~= ARGV[2] then return {0, cur} end
local a = 6
for i = 4, #KEYS do
  local n = tonumber(ARGV[a]); a = a + 1
  for j = 1, n do
    redis.call('HINCRBY', KEYS[i], ARGV[a], ARGV[a + 1]); a = a + 2
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HDEL', KEYS[1], 'plan:' .. ARGV[1])
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return {1, ARGV[3]}
`;

// The first claim of a range starting at an offset wins; later claims get it back.
const CLAIM_RANGE = `${LIVE_STATE_GATE}
local field = 'plan:' .. ARGV[1]
local cur = redis.call('HGET', KEYS[1], field)
if cur then
  local sep = string.find(cur, '-', 1, true)
  if string.sub(cur, 1, sep - 1) == ARGV[2] then return cur end
end
local plan = ARGV[2] .. '-' .. ARGV[3]
redis.call('HSET', KEYS[1], field, plan)
return plan
`;

export interface ApplyBatchInput {
  topic: string;
  partition: number;
  /** Offset read before processing; "-1" when the partition has none yet. */
  expectedOffset: string;
  /** Last offset this batch covers. */
  newOffset: string;
  deltas: Deltas;
}

export type ApplyOutcome = { applied: true } | { applied: false; currentOffset: string };

export interface CounterStoreObserver {
  onApply?(durationMs: number, scopes: number, applied: boolean): void;
}

export class RedisCounterStore {
  readonly keys: KeySpace;

  constructor(
    private readonly redis: Redis,
    options: { prefix?: string; group?: string; observer?: CounterStoreObserver } = {},
  ) {
    this.keys = keySpace(options.prefix, options.group);
    this.observer = options.observer ?? {};
    redis.defineCommand('ltApplyBatch', { lua: APPLY_BATCH });
    redis.defineCommand('ltClaimRange', { lua: CLAIM_RANGE, numberOfKeys: 3 });
  }

  private readonly observer: CounterStoreObserver;

  async appliedOffset(topic: string, partition: number): Promise<string> {
    return (await this.redis.hget(this.keys.appliedOffsets(topic), String(partition))) ?? '-1';
  }

  async appliedOffsets(topic: string): Promise<Map<number, string>> {
    const all = await this.redis.hgetall(this.keys.appliedOffsets(topic));
    return new Map(Object.entries(all).filter(([p]) => /^\d+$/.test(p)).map(([p, o]) => [Number(p), o]));
  }

  /**
   * Fixes the offset range [first, last] a partition's next write will cover, unless
   * a range starting at `first` was already fixed, in which case that one is returned.
   */
  async claimRange(topic: string, partition: number, first: string, last: string): Promise<{ first: string; last: string }> {
    const plan = await this.call<string>('ltClaimRange', this.keys.appliedOffsets(topic), this.keys.liveState, this.keys.rebuildLock, String(partition), first, last);
    const [f, l] = plan.split('-') as [string, string];
    return { first: f, last: l };
  }

  private call<T>(command: string, ...args: (string | number)[]): Promise<T> {
    return (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[command]!(...args).catch((err: unknown) => {
      throw liveStateError(err) ?? err;
    });
  }

  async applyBatch(input: ApplyBatchInput): Promise<ApplyOutcome> {
    const started = performance.now();
    const keys = [this.keys.appliedOffsets(input.topic), this.keys.liveState, this.keys.rebuildLock];
    const args: (string | number)[] = [String(input.partition), input.expectedOffset, input.newOffset, this.keys.changesChannel, ''];
    const scopes: string[] = [];
    for (const [scope, delta] of input.deltas) {
      const fields = TOTAL_FIELDS.filter((f) => (delta[f] ?? 0) !== 0);
      if (fields.length === 0) continue;
      scopes.push(scope);
      keys.push(this.keys.totals(scope));
      args.push(fields.length);
      for (const f of fields) args.push(f, delta[f]!);
    }
    args[4] = scopes.length > 0 ? JSON.stringify(scopes) : '';
    const [ok, current] = await this.call<[number, string]>('ltApplyBatch', keys.length, ...keys, ...args);
    this.observer.onApply?.(performance.now() - started, scopes.length, ok === 1);
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

function totalsFromHash(hash: Record<string, string>): Totals {
  const t = emptyTotals();
  for (const f of TOTAL_FIELDS) {
    const raw = hash[f];
    if (raw !== undefined) t[f] = Number(raw);
  }
  return t;
}
