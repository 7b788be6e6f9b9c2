import { resolveLiveScopes } from './campaign-scopes';
import { encodeChangedScopes } from './changes';
import { readGrouped } from './cluster/grouped-pipeline';
import type { AnyRedis } from './cluster/redis-client';
import { scanKeys } from './cluster/scan';
import { raiseCatalogueCopies } from './catalogue-copies';
import { waitUntilDurable } from './durable';
import { DEFAULT_KEY_PREFIX, keySpace, partitionTag, partitionsOf, scopeOfTotalsKey, type KeySpace } from './keys';
import { TOTAL_FIELDS, type TotalField } from './totals';

/**
 * Whether Redis holds live state, and the atomic reads and writes reconcile and
 * rebuild need.
 *
 * Per partition (ADR 0003): `<prefix>:state:{<topic>/<p>}` = 'ready' says the partition's
 * shares and applied offsets in Redis are live state, and `<prefix>:rebuild:{<topic>/<p>}`
 * is its rebuild lock; a master that loses its data loses the markers of exactly the
 * partitions it held. The store is ready when every registered partition's marker is.
 * (Below, "the marker" is one partition's.)
 *
 * The marker = 'ready' says the totals and applied offsets in Redis are live
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
  /**
   * Each registered partition's own share of every requested scope, read in the same
   * per-partition transaction as its offset (ADR 0003: reconcile names the partition, and
   * so the master, a difference comes from).
   */
  shares: Map<number, Map<string, RawTotals>>;
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

/** What a rebuild writes for ONE partition (ADR 0003: each partition in one script on its slot). */
export interface RebuiltState {
  /** The lock token; the write happens only while this rebuild still holds the partition's lock. */
  token: string;
  topic: string;
  partition: number;
  /** The partition's shares that replace each scope's (integer text; zero fields may be left out). */
  totals: Map<string, Partial<Record<TotalField, string>>>;
  /** Scopes whose share of this partition is deleted (no longer backed by history). */
  remove: readonly string[];
  /** The applied offset that replaces the partition's (and becomes its durable offset; the owner generation stays); null: none. */
  offset: string | null;
  /**
   * The campaign catalogue version the campaign shares were computed for: the write happens
   * only if the partition's copy of the version is not past it (a campaign changed
   * meanwhile: recompute), and raises the copy to it.
   */
  catalogueVersion?: string;
}

/** 'written'; 'lock-lost' (nothing written); 'catalogue-changed' (nothing written, lock still held). */
export type RebuiltWriteOutcome = 'written' | 'lock-lost' | 'catalogue-changed';

// KEYS: the partition's offsets, marker, lock. ARGV[1] = '1' when the caller checked
// ClickHouse holds nothing for the partition, so an empty Redis is a fresh deployment.
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

// One partition's rebuilt state (ADR 0003), every key of its slot. KEYS: offsets, marker,
// lock, catalogue-version copy, then W shares to replace, then shares to delete. ARGV:
// token, W, partition, applied offset ('' = none), catalogue version ('' = no check), then
// per replaced share: n, n × (field, value).
const WRITE_REBUILT = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if ARGV[5] ~= '' then
  local v = tonumber(redis.call('GET', KEYS[4]) or '0') or 0
  if v > tonumber(ARGV[5]) then return 2 end
  redis.call('SET', KEYS[4], ARGV[5])
end
-- The owner generation stays (it only ever grows); the offsets are replaced, and what was
-- rebuilt from ClickHouse is durable by definition.
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 4) ~= 'gen:' then redis.call('HDEL', KEYS[1], f) end
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4], 'durable:' .. ARGV[3], ARGV[4]) end
local w = tonumber(ARGV[2])
local a = 6
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
    private readonly redis: AnyRedis,
    options: { prefix?: string } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.keys = keySpace(this.prefix);
    redis.defineCommand('ltMarkReady', { lua: MARK_READY, numberOfKeys: 3 });
    redis.defineCommand('ltRefreshLock', { lua: REFRESH_LOCK, numberOfKeys: 1 });
    redis.defineCommand('ltReleaseLock', { lua: RELEASE_LOCK, numberOfKeys: 1 });
    redis.defineCommand('ltRenewCatalogueVersion', { lua: RENEW_CATALOGUE_VERSION, numberOfKeys: 1 });
    redis.defineCommand('ltWriteRebuilt', { lua: WRITE_REBUILT });
  }

  private call<T>(command: string, ...args: (string | number)[]): Promise<T> {
    return (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[command]!(...args);
  }

  private async tags(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.partitions)).sort();
  }

  /**
   * One partition's status (its marker and lock: one slot, one round trip), or, without a
   * partition, the store's: 'rebuilding' if any registered partition's lock is held,
   * 'ready' when every registered partition's marker is set (and at least one is registered).
   */
  async status(topic?: string, partition?: number): Promise<LiveStatus> {
    if (topic !== undefined && partition !== undefined) {
      const tag = partitionTag(topic, partition);
      const [marker, lock] = await this.redis.mget(this.keys.liveState(tag), this.keys.rebuildLock(tag));
      return statusOf(marker ?? null, lock ?? null);
    }
    const statuses = await this.partitionStatuses();
    if ([...statuses.values()].includes('rebuilding')) return 'rebuilding';
    return statuses.size > 0 && [...statuses.values()].every((s) => s === 'ready') ? 'ready' : 'missing';
  }

  /** Every registered partition's status, by tag (`<topic>/<p>`). */
  async partitionStatuses(): Promise<Map<string, LiveStatus>> {
    const tags = await this.tags();
    const replies = await readGrouped<(string | null)[]>(
      this.redis,
      tags.map((tag) => ({
        key: this.keys.liveState(tag),
        queue: (p) => void p.mget(this.keys.liveState(tag), this.keys.rebuildLock(tag)),
      })),
    );
    return new Map(tags.map((tag, i) => [tag, statusOf(replies[i]![0] ?? null, replies[i]![1] ?? null)]));
  }

  /** Whether every registered partition's marker is set, whatever the locks (false when none is registered). */
  async hasMarker(): Promise<boolean> {
    const tags = await this.tags();
    if (tags.length === 0) return false;
    const markers = await readGrouped<string | null>(
      this.redis,
      tags.map((tag) => ({ key: this.keys.liveState(tag), queue: (p) => void p.get(this.keys.liveState(tag)) })),
    );
    return markers.every((m) => m === 'ready');
  }

  /**
   * Sets the partition's marker when that is safe without a rebuild: Redis already holds
   * an applied offset for the partition (state from before the marker existed), or
   * `fresh` (the caller saw ClickHouse hold no rows of the partition) and Redis holds
   * nothing for it.
   */
  async markReady(topic: string, partition: number, fresh: boolean): Promise<MarkOutcome> {
    const tag = partitionTag(topic, partition);
    return this.call<MarkOutcome>(
      'ltMarkReady',
      this.keys.offsets(tag),
      this.keys.liveState(tag),
      this.keys.rebuildLock(tag),
      fresh ? '1' : '0',
    );
  }

  /** Every scope with a totals share (SCAN, so Redis is never blocked; every master of a cluster). */
  async scanScopes(count = 5000): Promise<string[]> {
    const scopes = new Set<string>();
    for await (const keys of scanKeys(this.redis, this.keys.totalsPattern, count)) {
      for (const k of keys) {
        const parsed = scopeOfTotalsKey(this.prefix, k);
        if (parsed !== null) scopes.add(parsed.scope);
      }
    }
    return [...scopes].sort();
  }

  /**
   * Every registered partition's marker, applied offset and shares of `scopes`, each
   * partition read in one MULTI/EXEC on its slot, the shares summed per scope (and, with
   * `catalogue`, the campaign catalogue, read in its own transaction). A per-partition
   * cut: each partition's shares are consistent with its applied offset, which is what a
   * comparison with ClickHouse at those offsets needs (ADR 0003, reconcile per partition).
   *
   * `scopes` as a list reads each scope on every partition; as partition → scopes (what
   * scanShares found), each partition reads only its own. Most scopes are one stream's,
   * with a share on one partition: reading them everywhere made the campaign month's
   * reconcile (452,189 scopes, 12 partitions) hold 5.4 million replies at once.
   */
  async snapshot(
    topic: string,
    scopes: readonly string[] | ReadonlyMap<number, readonly string[]>,
    catalogue?: CatalogueKeys,
  ): Promise<LiveSnapshot> {
    const partitions = partitionsOf(await this.tags(), topic);
    const listed = Array.isArray(scopes) ? (scopes as readonly string[]) : null;
    const logical = listed ?? [...new Set([...(scopes as ReadonlyMap<number, readonly string[]>).values()].flat())];
    const onPartition = (p: number) => listed ?? (scopes as ReadonlyMap<number, readonly string[]>).get(p) ?? [];
    // A campaign's figures are its live generation's (campaign-scopes.ts), resolved once for every partition.
    const resolved = await resolveLiveScopes(this.redis, logical, this.keys.partitions.slice(0, -':partitions'.length));
    const stored = new Map(logical.map((s, i) => [s, resolved[i]!]));
    const statuses: LiveStatus[] = [];
    const offsets = new Map<number, string>();
    const shares = new Map<number, Map<string, RawTotals>>();
    await Promise.all(
      partitions.map(async (partition) => {
        const tag = partitionTag(topic, partition);
        const own = onPartition(partition);
        const multi = this.redis.multi();
        multi.mget(this.keys.liveState(tag), this.keys.rebuildLock(tag));
        multi.hget(this.keys.offsets(tag), String(partition));
        for (const s of own) multi.hgetall(this.keys.totals(tag, stored.get(s)!));
        const replies = await multi.exec();
        if (!replies) throw new Error('snapshot transaction was aborted');
        const value = (i: number): unknown => {
          const [err, v] = replies[i] ?? [new Error('no reply'), null];
          if (err) throw err;
          return v;
        };
        const [marker, lock] = value(0) as (string | null)[];
        statuses.push(statusOf(marker ?? null, lock ?? null));
        const applied = value(1) as string | null;
        if (applied !== null) offsets.set(partition, applied);
        shares.set(partition, new Map(own.map((s, i) => [s, value(i + 2) as RawTotals])));
      }),
    );
    const status: LiveStatus = statuses.includes('rebuilding')
      ? 'rebuilding'
      : statuses.length > 0 && statuses.every((s) => s === 'ready')
        ? 'ready'
        : 'missing';
    const totals = sumShares(logical, shares.values());
    const snap: LiveSnapshot = {
      status,
      offsets: new Map([...offsets].sort((a, b) => a[0] - b[0])),
      totals,
      shares: new Map([...shares].sort((a, b) => a[0] - b[0])),
    };
    if (catalogue) {
      const replies = await this.redis.multi().get(catalogue.version).hvals(catalogue.catalogue).exec();
      if (!replies || replies.length !== 2) throw new Error('catalogue transaction was aborted');
      const [[e1, version], [e2, bodies]] = replies as [[Error | null, unknown], [Error | null, unknown]];
      if (e1 || e2) throw e1 ?? e2;
      snap.catalogue = { version: (version as string | null) ?? '0', bodies: bodies as string[] };
    }
    return snap;
  }

  /** Returns once ClickHouse holds the topic through `upTo` too (throws NotDurableError after `timeoutMs`). */
  async waitUntilDurable(topic: string, upTo: ReadonlyMap<number, string>, timeoutMs = 30_000): Promise<void> {
    await waitUntilDurable(this.redis, (p) => this.keys.offsets(partitionTag(topic, p)), upTo, { timeoutMs });
  }

  /**
   * Takes the rebuild locks of `partitions` of the topic (SET NX with a TTL, in partition
   * order, so two rebuilds cannot deadlock); all or none: false (none held) when another
   * rebuild holds one.
   */
  async acquireRebuildLocks(
    topic: string,
    partitions: readonly number[],
    token: string,
    ttlMs: number,
  ): Promise<boolean> {
    const held: number[] = [];
    for (const p of [...partitions].sort((a, b) => a - b)) {
      const ok =
        (await this.redis.set(this.keys.rebuildLock(partitionTag(topic, p)), token, 'PX', ttlMs, 'NX')) === 'OK';
      if (!ok) {
        await this.releaseRebuildLocks(topic, held, token);
        return false;
      }
      held.push(p);
    }
    return true;
  }

  /** Extends the locks this token still holds; false when one of them was lost. */
  async refreshRebuildLocks(
    topic: string,
    partitions: readonly number[],
    token: string,
    ttlMs: number,
  ): Promise<boolean> {
    const held = await Promise.all(
      partitions.map((p) =>
        this.call<number>('ltRefreshLock', this.keys.rebuildLock(partitionTag(topic, p)), token, ttlMs),
      ),
    );
    return held.every((h) => h === 1);
  }

  /** Releases the locks this token holds; how many it released. */
  async releaseRebuildLocks(topic: string, partitions: readonly number[], token: string): Promise<number> {
    const released = await Promise.all(
      partitions.map((p) => this.call<number>('ltReleaseLock', this.keys.rebuildLock(partitionTag(topic, p)), token)),
    );
    return released.filter((r) => r === 1).length;
  }

  /** Milliseconds until the longest-lived rebuild lock of the topic's registered partitions expires; -2 when none is held. */
  async rebuildLockTtl(topic: string): Promise<number> {
    const partitions = partitionsOf(await this.tags(), topic);
    const ttls = await Promise.all(
      partitions.map((p) => this.redis.pttl(this.keys.rebuildLock(partitionTag(topic, p)))),
    );
    return Math.max(-2, ...ttls);
  }

  /** The topic's registered partitions whose marker is not set. */
  async partitionsWithoutMarker(topic: string): Promise<number[]> {
    const statuses = await this.partitionStatuses();
    return partitionsOf(
      [...statuses].filter(([, status]) => status !== 'ready').map(([tag]) => tag),
      topic,
    );
  }

  /** Registers partitions (as taking them does): readers sum over them, catalogue changes raise their copies. */
  async registerPartitions(topic: string, partitions: readonly number[]): Promise<void> {
    if (partitions.length > 0)
      await this.redis.sadd(this.keys.partitions, ...partitions.map((p) => partitionTag(topic, p)));
  }

  /** Each partition tag's scopes with a totals share (SCAN; every master of a cluster). */
  async scanShares(count = 5000): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for await (const keys of scanKeys(this.redis, this.keys.totalsPattern, count)) {
      for (const k of keys) {
        const parsed = scopeOfTotalsKey(this.prefix, k);
        if (parsed === null) continue;
        let scopes = out.get(parsed.tag);
        if (!scopes) out.set(parsed.tag, (scopes = new Set()));
        scopes.add(parsed.scope);
      }
    }
    return out;
  }

  /**
   * Sets the campaign catalogue version to one no worker can have cached (above the
   * current one and `floor`), so every worker re-reads the catalogue before its next
   * apply. Returns the new version.
   */
  async renewCatalogueVersion(versionKey: string, floor: number): Promise<string> {
    const version = await this.call<string>('ltRenewCatalogueVersion', versionKey, String(Math.floor(floor)));
    await raiseCatalogueCopies(this.redis, version, this.prefix);
    return version;
  }

  /**
   * Replaces one partition's live state in one atomic step on its slot, only while `token`
   * holds the partition's rebuild lock (and, with `catalogueVersion`, the partition's copy
   * of the catalogue version is not past it): its offsets, its shares of every given scope,
   * the deletion of stale shares, its marker, and the lock's release.
   */
  async writeRebuiltState(state: RebuiltState): Promise<RebuiltWriteOutcome> {
    const tag = partitionTag(state.topic, state.partition);
    const keys = [
      this.keys.offsets(tag),
      this.keys.liveState(tag),
      this.keys.rebuildLock(tag),
      this.keys.catalogueVersion(tag),
    ];
    const args: (string | number)[] = [
      state.token,
      state.totals.size,
      String(state.partition),
      state.offset ?? '',
      state.catalogueVersion ?? '',
    ];
    for (const [scope, totals] of state.totals) {
      keys.push(this.keys.totals(tag, scope));
      const fields = TOTAL_FIELDS.filter((f) => totals[f] !== undefined && totals[f] !== '0');
      args.push(fields.length);
      for (const f of fields) args.push(f, totals[f]!);
    }
    for (const scope of state.remove) keys.push(this.keys.totals(tag, scope));
    // One array argument: spreading hundreds of thousands of values into a call overflows the stack.
    const code = await (this.redis as unknown as Record<string, (all: (string | number)[]) => Promise<number>>)
      .ltWriteRebuilt!([keys.length, ...keys, ...args]);
    return code === 1 ? 'written' : code === 2 ? 'catalogue-changed' : 'lock-lost';
  }

  /** Tells gateways which scopes of a partition changed (its sharded channel), in chunks so no message grows unbounded. */
  async publishChanged(topic: string, partition: number, scopes: readonly string[], chunk = 500): Promise<void> {
    const channel = this.keys.changesChannel(partitionTag(topic, partition));
    for (let i = 0; i < scopes.length; i += chunk) {
      await this.redis.spublish(channel, encodeChangedScopes(scopes.slice(i, i + chunk)));
    }
  }
}

function statusOf(marker: string | null, lock: string | null): LiveStatus {
  if (lock !== null) return 'rebuilding';
  return marker === 'ready' ? 'ready' : 'missing';
}

/**
 * Each scope's shares summed over the partitions (an empty object when no partition has
 * one). A share read on one partition only is taken as it is, without a copy: the many
 * stream scopes cost no second object each.
 */
function sumShares(
  scopes: readonly string[],
  partitions: Iterable<ReadonlyMap<string, RawTotals>>,
): Map<string, RawTotals> {
  const found = new Map<string, RawTotals[]>();
  for (const shares of partitions)
    for (const [scope, hash] of shares) {
      if (Object.keys(hash).length === 0) continue;
      const list = found.get(scope);
      if (list) list.push(hash);
      else found.set(scope, [hash]);
    }
  const totals = new Map<string, RawTotals>();
  for (const scope of scopes) {
    const hashes = found.get(scope) ?? [];
    if (hashes.length === 1) {
      totals.set(scope, hashes[0]!);
      continue;
    }
    const sum = new Map<string, bigint>();
    for (const hash of hashes)
      for (const [field, n] of Object.entries(hash)) sum.set(field, (sum.get(field) ?? 0n) + BigInt(n!));
    totals.set(scope, Object.fromEntries([...sum].map(([f, n]) => [f, n.toString()])) as RawTotals);
  }
  return totals;
}
