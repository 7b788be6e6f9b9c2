import type { Redis } from 'ioredis';
import { scanKeys } from './cluster/scan';
import { encodeHyperLogLog } from './hyperloglog';
import { DEFAULT_KEY_PREFIX, globEscape, partitionTag } from './keys';
import * as liveLayout from './live-keys';
import { TOTAL_FIELDS } from './totals';

/**
 * Writes the live measures beyond cumulative totals — minute buckets, HyperLogLogs,
 * leaderboards — as a rebuild restores them from history. Used only while the rebuild
 * lock is held (the counter scripts refuse meanwhile), so the writes need not be one
 * atomic step: nothing else writes these keys until the rebuild's final atomic step
 * sets the marker. Every method sends one pipeline of small scripts (one call per
 * 2,000 keys) or plain writes; callers pass chunks of bounded size.
 */
export interface MinuteBucket {
  scope: string;
  /** Start of the event minute, ms since epoch. */
  t: number;
  /** Total field → integer text; zero fields are left out, as the live apply does. */
  totals: Partial<Record<string, string>>;
}

/** One member's values in one leaderboard dimension: integer text per leaderboard measure. */
export type RankEntry = { dimension: string; member: string } & Record<liveLayout.LiveRankMeasure, string>;

const PFADD_SLICE = 1_000;
/** Keys per script call: bounds how long one call holds Redis (a few ms). */
const KEYS_PER_CALL = 2_000;

// One call per chunk instead of one command per field: a pipeline of single commands
// costs the client tens of microseconds each, a script's arguments almost nothing.
// KEYS: bucket keys. ARGV per key: ttl seconds, n, n × (field, value).
const ADD_BUCKETS = `
local a = 1
for i = 1, #KEYS do
  local ttl = ARGV[a]; local n = tonumber(ARGV[a + 1]); a = a + 2
  for j = 1, n do redis.call('HINCRBY', KEYS[i], ARGV[a], ARGV[a + 1]); a = a + 2 end
  redis.call('EXPIRE', KEYS[i], ttl)
end
return #KEYS`;

// KEYS: HyperLogLog keys. ARGV per key: n, n ids (PFADDed in slices: Lua's C stack is small).
const ADD_HLLS = `
local a = 1
for i = 1, #KEYS do
  local n = tonumber(ARGV[a]); local first = a + 1
  for s = first, first + n - 1, ${PFADD_SLICE} do
    redis.call('PFADD', KEYS[i], unpack(ARGV, s, math.min(s + ${PFADD_SLICE - 1}, first + n - 1)))
  end
  a = first + n
end
return #KEYS`;

// KEYS: leaderboard keys. ARGV per key: n, n × (member, increment).
const ADD_RANKS = `
local a = 1
for i = 1, #KEYS do
  local n = tonumber(ARGV[a]); a = a + 1
  for j = 1, n do redis.call('ZINCRBY', KEYS[i], ARGV[a + 1], ARGV[a]); a = a + 2 end
end
return #KEYS`;

export class LiveMeasureWriter {
  readonly keys: liveLayout.LiveKeySpace;
  private readonly prefix: string;

  /**
   * `partitionTagValue`: the partition (`<topic>/<p>`) whose shares the add* methods write
   * (ADR 0003: a rebuild writes each partition's shares from its own rows); see partition().
   */
  constructor(
    private readonly redis: Redis,
    prefix = DEFAULT_KEY_PREFIX,
    private readonly partitionTagValue?: string,
  ) {
    this.prefix = prefix;
    this.keys = liveLayout.liveKeys(prefix);
    redis.defineCommand('ltRestoreBuckets', { lua: ADD_BUCKETS });
    redis.defineCommand('ltRestoreHyperLogLogs', { lua: ADD_HLLS });
    redis.defineCommand('ltRestoreRanks', { lua: ADD_RANKS });
  }

  /** A writer of one partition's shares. */
  partition(topic: string, partition: number): LiveMeasureWriter {
    return new LiveMeasureWriter(this.redis, this.prefix, partitionTag(topic, partition));
  }

  private tag(): string {
    if (this.partitionTagValue === undefined)
      throw new Error('LiveMeasureWriter: restoring shares needs a partition (writer.partition(topic, p))');
    return this.partitionTagValue;
  }

  /** Runs `command` once per chunk of at most KEYS_PER_CALL keys, in one pipeline. */
  private async perKey(command: string, entries: readonly [key: string, args: (string | number)[]][]): Promise<void> {
    if (entries.length === 0) return;
    const p = this.redis.pipeline() as unknown as Record<string, (...a: unknown[]) => unknown> &
      ReturnType<Redis['pipeline']>;
    for (let i = 0; i < entries.length; i += KEYS_PER_CALL) {
      const chunk = entries.slice(i, i + KEYS_PER_CALL);
      const args: (string | number)[] = [];
      for (const [, a] of chunk) for (const v of a) args.push(v);
      p[command]!([chunk.length, ...chunk.map(([k]) => k), ...args]);
    }
    await exec(p);
  }

  /**
   * Deletes every minute bucket, HyperLogLog and leaderboard of the prefix (SCAN, so
   * Redis is never blocked; UNLINK frees memory in the background), of this writer's
   * partition only when it has one; with `scopePrefix` only those of scopes starting with
   * it (e.g. `campaign:`). Returns how many keys. On a cluster every master is scanned.
   */
  async clear(scopePrefix = ''): Promise<number> {
    const tag = this.partitionTagValue;
    // One pass over the keyspace (SCAN walks all of it whatever the pattern); the
    // four key kinds are told apart here.
    // Layout v2 (ADR 0003): `<prefix>:<kind>:{<topic>/<p>}:<scope>…`, every partition's share.
    const tagPattern = tag === undefined ? '[^}]*' : escapeRegExp(tag);
    const head = new RegExp(`^${escapeRegExp(this.prefix)}:[muhr]:\\{${tagPattern}\\}:${escapeRegExp(scopePrefix)}`);
    let removed = 0;
    const pattern = `${globEscape(this.prefix)}:?:{${tag === undefined ? '*' : globEscape(tag)}}:${globEscape(scopePrefix)}*`;
    for await (const keys of scanKeys(this.redis, pattern)) {
      const mine = keys.filter((k) => head.test(k));
      if (mine.length === 0) continue;
      // One partition's keys share a slot; a whole prefix's do not, so on a cluster each key goes on its own.
      if (tag !== undefined || !this.redis.isCluster) removed += await this.redis.unlink(...mine);
      else removed += (await Promise.all(mine.map((k) => this.redis.unlink(k)))).reduce((a, b) => a + b, 0);
    }
    return removed;
  }

  /**
   * Writes minute buckets (adding to what a bucket holds) with the TTL the live apply
   * gives them: a bucket expires MINUTE_BUCKET_TTL_SECONDS after its minute. Buckets
   * already older than that are skipped, as the live apply skips them. Returns how
   * many buckets were written.
   */
  async addMinuteBuckets(buckets: readonly MinuteBucket[], now: number): Promise<number> {
    const oldest = liveLayout.bucketsExpireBefore(now);
    const entries: [string, (string | number)[]][] = [];
    for (const b of buckets) {
      const minute = liveLayout.minuteOf(b.t);
      if (minute < oldest) continue;
      const fields: string[] = [];
      for (const f of TOTAL_FIELDS) {
        const v = b.totals[f];
        if (v !== undefined && v !== '0') fields.push(f, v);
      }
      if (fields.length === 0) continue;
      const ttl = liveLayout.minuteBucketTtl(minute, now);
      entries.push([this.keys.forTag(this.tag()).minute(b.scope, minute), [ttl, fields.length / 2, ...fields]]);
    }
    await this.perKey('ltRestoreBuckets', entries);
    return entries.length;
  }

  /** PFADDs ids to the unique-viewer (`viewers`) or active-host (`hosts`) HyperLogLog of each scope. */
  async addToHyperLogLogs(
    what: 'viewers' | 'hosts',
    pairs: readonly (readonly [scope: string, id: string])[],
  ): Promise<void> {
    const byKey = new Map<string, string[]>();
    for (const [scope, id] of pairs) {
      const key =
        what === 'viewers' ? this.keys.forTag(this.tag()).viewers(scope) : this.keys.forTag(this.tag()).hosts(scope);
      let ids = byKey.get(key);
      if (!ids) byKey.set(key, (ids = []));
      ids.push(id);
    }
    await this.perKey(
      'ltRestoreHyperLogLogs',
      [...byKey].map(([key, ids]) => [key, [ids.length, ...ids]]),
    );
  }

  /**
   * Writes unique-viewer (`viewers`) or active-host (`hosts`) HyperLogLogs whole, from
   * their registers (encodeHyperLogLog: what PFADDing the ids would leave), replacing
   * what the keys held: this writer's partition's shares (one slot, so one pipeline).
   * Returns how many registers were set (non-zero).
   */
  async setHyperLogLogs(
    what: 'viewers' | 'hosts',
    rows: readonly { scope: string; registers: Uint8Array }[],
  ): Promise<number> {
    const keys = this.keys.forTag(this.tag());
    const p = this.redis.pipeline();
    let set = 0;
    for (const { scope, registers } of rows) {
      p.set(what === 'viewers' ? keys.viewers(scope) : keys.hosts(scope), encodeHyperLogLog(registers));
      for (const r of registers) if (r !== 0) set++;
    }
    await exec(p);
    return set;
  }

  /**
   * Adds the leaderboard entries of one parent (`all` or `campaign:<id>`): for every
   * dimension and measure, each member's value. Zero values are left out, as the
   * live apply never adds them. Returns how many entries were written.
   */
  async addRankings(parent: string, entries: readonly RankEntry[]): Promise<number> {
    const dimensions = new Set<string>(liveLayout.RANK_DIMENSIONS);
    const byKey = new Map<string, (string | number)[]>();
    let written = 0;
    for (const e of entries) {
      if (!dimensions.has(e.dimension)) continue;
      for (const m of liveLayout.RANK_MEASURES) {
        const v = e[m];
        if (v === '0' || v === '') continue;
        const key = this.keys
          .forTag(this.tag())
          .ranking(parent, e.dimension as liveLayout.LiveRankDimension, m as liveLayout.LiveRankMeasure);
        let args = byKey.get(key);
        if (!args) byKey.set(key, (args = []));
        args.push(e.member, v);
        written++;
      }
    }
    await this.perKey(
      'ltRestoreRanks',
      [...byKey].map(([key, args]) => [key, [args.length / 2, ...args]]),
    );
    return written;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function exec(p: ReturnType<Redis['pipeline']>): Promise<void> {
  if (p.length === 0) return;
  for (const [err] of (await p.exec()) ?? []) if (err) throw err;
}
