import type { Redis } from 'ioredis';
import { encodeChangedScopes } from './changes';
import { waitUntilDurable } from './durable';
import { DEFAULT_KEY_PREFIX, keySpace, scopeOfTotalsKey, type KeySpace } from './keys';
import { TOTAL_FIELDS, type TotalField } from './totals';

/**
 * Whether Redis holds live state, and the atomic reads and writes reconcile and
 * rebuild need.
 *
 * `<prefix>:state` = 'ready' says the totals and applied offsets in Redis are live
 * state. It is written only together with that state: by a rebuild's final atomic
 * write, or by the first worker of a fresh deployment (nothing in Redis, nothing in
 * ClickHouse). When Redis loses its data the marker goes with it, and every script
 * that writes counters or offset plans refuses until a rebuild restored the state
 * from ClickHouse. `<prefix>:rebuild` (a lock with a TTL) closes the same gate while
 * a rebuild runs.
 */

/** Lua prelude of every counter-writing script: KEYS[2] is the marker, KEYS[3] the rebuild lock. */
export const LIVE_STATE_GATE = `
if redis.call('GET', KEYS[2]) ~= 'ready' then return redis.error_reply('LTNOTREADY missing') end
if redis.call('EXISTS', KEYS[3]) == 1 then return redis.error_reply('LTNOTREADY rebuilding') end`;

export type NotReadyReason = 'missing' | 'rebuilding';

/**
 * Redis holds no live state (data lost, rebuild needed) or a rebuild is running.
 * Retryable: the batch must wait, never be skipped and never have its offset resolved.
 */
export class LiveStateNotReadyError extends Error {
  readonly retryable = true;
  readonly code = 'LIVE_STATE_NOT_READY';

  constructor(
    readonly reason: NotReadyReason,
    message?: string,
  ) {
    super(
      message ??
        (reason === 'rebuilding'
          ? 'live state in Redis is being rebuilt; waiting'
          : 'Redis holds no live state (marker missing); waiting for a rebuild'),
    );
    this.name = 'LiveStateNotReadyError';
  }
}

/** Maps a script's LTNOTREADY error reply to the typed error; undefined for anything else. */
export function liveStateError(err: unknown): LiveStateNotReadyError | undefined {
  const message = err instanceof Error ? err.message : '';
  const m = /^LTNOTREADY (missing|rebuilding)/.exec(message);
  return m ? new LiveStateNotReadyError(m[1] as NotReadyReason) : undefined;
}

export type LiveStatus = 'ready' | 'missing' | 'rebuilding';
export type MarkOutcome = 'ready' | 'adopted' | 'initialized' | 'missing' | 'rebuilding';

/** Raw totals hash of one scope as Redis holds it (field → integer text). */
export type RawTotals = Partial<Record<string, string>>;

export interface LiveSnapshot {
  status: LiveStatus;
  /** Applied offset per partition (numeric fields of the offsets hash only). */
  offsets: Map<number, string>;
  /** Totals hash of every requested scope; an empty object when the key does not exist. */
  totals: Map<string, RawTotals>;
  /** The campaign catalogue at the same instant, when asked for: its version and raw definitions. */
  catalogue?: { version: string; bodies: string[] };
}

/** Where the campaign catalogue lives (campaigns' key layout). */
export interface CatalogueKeys {
  /** Hash id → campaign definition (JSON). */
  catalogue: string;
  /** The catalogue version workers match batches against. */
  version: string;
}

export interface RebuiltState {
  /** The lock token; the write happens only while this rebuild still holds the lock. */
  token: string;
  topic: string;
  /** Totals that replace each scope's hash (integer text; zero fields may be left out). */
  totals: Map<string, Partial<Record<TotalField, string>>>;
  /** Scopes whose totals keys are deleted (no longer backed by history). */
  remove: readonly string[];
  /** Applied offsets that replace the topic's (and become its durable offsets; owner generations stay). */
  offsets: Map<number, string>;
  /**
   * The campaign catalogue version the campaign totals were computed for: the write
   * happens only if it is still current (a campaign changed meanwhile: recompute).
   */
  catalogue?: { versionKey: string; version: string };
}

/** 'written'; 'lock-lost' (nothing written); 'catalogue-changed' (nothing written, lock still held). */
export type RebuiltWriteOutcome = 'written' | 'lock-lost' | 'catalogue-changed';

// KEYS: offsets, marker, lock. ARGV[1] = '1' when the caller checked ClickHouse holds
// nothing for the topic, so an empty Redis is a fresh deployment.
const MARK_READY = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 'rebuilding' end
if redis.call('GET', KEYS[2]) == 'ready' then return 'ready' end
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.match(f, '^%d+$') then
    redis.call('SET', KEYS[2], 'ready')
    return 'adopted'
  end
end
if ARGV[1] == '1' then
  redis.call('SET', KEYS[2], 'ready')
  return 'initialized'
end
return 'missing'
`;

// KEYS[1] a lock (rebuild lock, campaign backfill lease). ARGV: token, ttl ms.
export const REFRESH_LOCK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

// KEYS[1] catalogue version. ARGV[1] a floor (ms since epoch). Sets a version no worker
// can hold a cached copy of: above both the current one and the floor.
const RENEW_CATALOGUE_VERSION = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local n = tonumber(ARGV[1])
if n <= v then n = v + 1 end
redis.call('SET', KEYS[1], string.format('%d', n))
return string.format('%d', n)
`;

// KEYS[1] a lock. ARGV: token. Deletes it only while the token holds it.
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

// KEYS: offsets, marker, lock, catalogue version, then W totals keys to replace, then
// keys to delete. ARGV: token, W, P, expected catalogue version ('' = no check),
// P × (partition, offset), then per replaced key: n, n × (field, value).
const WRITE_REBUILT = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if ARGV[4] ~= '' then
  local v = redis.call('GET', KEYS[4])
  if not v then v = '0' end
  if v ~= ARGV[4] then return 2 end
end
-- Owner generations stay (they only ever grow); offsets are replaced, and what was
-- rebuilt from ClickHouse is durable by definition.
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 4) ~= 'gen:' then redis.call('HDEL', KEYS[1], f) end
end
local w = tonumber(ARGV[2])
local p = tonumber(ARGV[3])
local a = 5
for i = 1, p do
  redis.call('HSET', KEYS[1], ARGV[a], ARGV[a + 1], 'durable:' .. ARGV[a], ARGV[a + 1]); a = a + 2
end
for i = 5, 4 + w do
  redis.call('DEL', KEYS[i])
  local n = tonumber(ARGV[a]); a = a + 1
  if n > 0 then redis.call('HSET', KEYS[i], unpack(ARGV, a, a + 2 * n - 1)) end
  a = a + 2 * n
end
for i = 5 + w, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SET', KEYS[2], 'ready')
redis.call('DEL', KEYS[3])
return 1
`;

export class LiveStateStore {
  readonly keys: KeySpace;
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: { prefix?: string } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.keys = keySpace(this.prefix);
    redis.defineCommand('ltMarkReady', { lua: MARK_READY, numberOfKeys: 3 });
    redis.defineCommand('ltRefreshLock', { lua: REFRESH_LOCK, numberOfKeys: 1 });
    redis.defineCommand('ltReleaseLock', { lua: RELEASE_LOCK, numberOfKeys: 1 });
    redis.defineCommand('ltWriteRebuilt', { lua: WRITE_REBUILT });
    redis.defineCommand('ltRenewCatalogueVersion', { lua: RENEW_CATALOGUE_VERSION, numberOfKeys: 1 });
  }

  private call<T>(command: string, ...args: (string | number)[]): Promise<T> {
    return (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[command]!(...args);
  }

  /** One round trip: is the marker set and no rebuild running? */
  async status(): Promise<LiveStatus> {
    const [marker, lock] = await this.redis.mget(this.keys.liveState, this.keys.rebuildLock);
    return statusOf(marker ?? null, lock ?? null);
  }

  /** Whether the marker is set, whatever the lock. */
  async hasMarker(): Promise<boolean> {
    return (await this.redis.get(this.keys.liveState)) === 'ready';
  }

  /**
   * Sets the marker when that is safe without a rebuild: Redis already holds applied
   * offsets for the topic (state from before the marker existed), or `fresh` (the
   * caller saw ClickHouse hold no rows for the topic) and Redis holds nothing.
   */
  async markReady(topic: string, fresh: boolean): Promise<MarkOutcome> {
    return this.call<MarkOutcome>(
      'ltMarkReady',
      this.keys.appliedOffsets(topic),
      this.keys.liveState,
      this.keys.rebuildLock,
      fresh ? '1' : '0',
    );
  }

  /** Every scope with a totals key (SCAN, so Redis is never blocked). */
  async scanScopes(count = 5000): Promise<string[]> {
    const scopes = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.totalsPattern, 'COUNT', count);
      cursor = next;
      for (const k of keys) {
        const scope = scopeOfTotalsKey(this.prefix, k);
        if (scope !== null) scopes.add(scope);
      }
    } while (cursor !== '0');
    return [...scopes].sort();
  }

  /**
   * The marker, every applied offset of the topic and the totals of `scopes` (and,
   * with `catalogue`, the campaign catalogue), all read in one MULTI/EXEC.
   */
  async snapshot(topic: string, scopes: readonly string[], catalogue?: CatalogueKeys): Promise<LiveSnapshot> {
    const multi = this.redis.multi();
    multi.mget(this.keys.liveState, this.keys.rebuildLock);
    multi.hgetall(this.keys.appliedOffsets(topic));
    for (const s of scopes) multi.hgetall(this.keys.totals(s));
    if (catalogue) multi.get(catalogue.version).hvals(catalogue.catalogue);
    const replies = await multi.exec();
    if (!replies) throw new Error('snapshot transaction was aborted');
    const value = (i: number): unknown => {
      const [err, v] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return v;
    };
    const [marker, lock] = value(0) as (string | null)[];
    const offsets = new Map<number, string>();
    for (const [field, offset] of Object.entries(value(1) as Record<string, string>)) {
      if (/^\d+$/.test(field)) offsets.set(Number(field), offset);
    }
    const totals = new Map<string, RawTotals>();
    scopes.forEach((s, i) => totals.set(s, value(i + 2) as RawTotals));
    const snap: LiveSnapshot = { status: statusOf(marker ?? null, lock ?? null), offsets, totals };
    if (catalogue)
      snap.catalogue = {
        version: (value(scopes.length + 2) as string | null) ?? '0',
        bodies: value(scopes.length + 3) as string[],
      };
    return snap;
  }

  /** Returns once ClickHouse holds the topic through `upTo` too (throws NotDurableError after `timeoutMs`). */
  async waitUntilDurable(topic: string, upTo: ReadonlyMap<number, string>, timeoutMs = 30_000): Promise<void> {
    await waitUntilDurable(this.redis, this.keys.appliedOffsets(topic), upTo, { timeoutMs });
  }

  async acquireRebuildLock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.rebuildLock, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Extends the lock if this token still holds it; false when it was lost. */
  async refreshRebuildLock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.call<number>('ltRefreshLock', this.keys.rebuildLock, token, ttlMs)) === 1;
  }

  async releaseRebuildLock(token: string): Promise<boolean> {
    return (await this.call<number>('ltReleaseLock', this.keys.rebuildLock, token)) === 1;
  }

  /** Milliseconds until the rebuild lock expires; -2 when there is none. */
  async rebuildLockTtl(): Promise<number> {
    return this.redis.pttl(this.keys.rebuildLock);
  }

  /**
   * Sets the campaign catalogue version to one no worker can have cached (above the
   * current one and `floor`), so every worker re-reads the catalogue before its next
   * apply. Returns the new version.
   */
  async renewCatalogueVersion(versionKey: string, floor: number): Promise<string> {
    return this.call<string>('ltRenewCatalogueVersion', versionKey, String(Math.floor(floor)));
  }

  /**
   * Replaces the live state in one atomic step, only while `token` holds the rebuild
   * lock (and, with `catalogue`, the campaign catalogue is still at that version): the
   * topic's offsets hash (stale plans go with it), every given scope's totals, the
   * deletion of stale scopes, the marker, and the lock's release.
   */
  async writeRebuiltState(state: RebuiltState): Promise<RebuiltWriteOutcome> {
    const keys = [
      this.keys.appliedOffsets(state.topic),
      this.keys.liveState,
      this.keys.rebuildLock,
      state.catalogue?.versionKey ?? this.keys.liveState,
    ];
    const args: (string | number)[] = [
      state.token,
      state.totals.size,
      state.offsets.size,
      state.catalogue?.version ?? '',
    ];
    for (const [partition, offset] of state.offsets) args.push(String(partition), offset);
    for (const [scope, totals] of state.totals) {
      keys.push(this.keys.totals(scope));
      const fields = TOTAL_FIELDS.filter((f) => totals[f] !== undefined && totals[f] !== '0');
      args.push(fields.length);
      for (const f of fields) args.push(f, totals[f]!);
    }
    for (const scope of state.remove) keys.push(this.keys.totals(scope));
    // One array argument: spreading hundreds of thousands of values into a call overflows the stack.
    const code = await (this.redis as unknown as Record<string, (all: (string | number)[]) => Promise<number>>)
      .ltWriteRebuilt!([keys.length, ...keys, ...args]);
    return code === 1 ? 'written' : code === 2 ? 'catalogue-changed' : 'lock-lost';
  }

  /** Tells gateways which scopes changed, in chunks so no message grows unbounded. */
  async publishChanged(scopes: readonly string[], chunk = 500): Promise<void> {
    for (let i = 0; i < scopes.length; i += chunk) {
      await this.redis.publish(this.keys.changesChannel, encodeChangedScopes(scopes.slice(i, i + chunk)));
    }
  }
}

function statusOf(marker: string | null, lock: string | null): LiveStatus {
  if (lock !== null) return 'rebuilding';
  return marker === 'ready' ? 'ready' : 'missing';
}
