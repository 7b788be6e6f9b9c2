import { readGrouped, type KeyedRead } from './cluster/grouped-pipeline';
import type { AnyRedis } from './cluster/redis-client';
import { resolveLiveScopes } from './campaign-scopes';
import { SummedLeaderboard } from './cluster/top-k-across';
import { countUniqueAcross } from './cluster/unique-across';
import { MINUTE_MS, liveKeys, type LiveKeySpace, type LiveRankDimension, type LiveRankMeasure } from './live-keys';
import { DEFAULT_KEY_PREFIX, keySpace, type KeySpace } from './keys';
import { TOTAL_FIELDS, emptyTotals, liveSessionsOf, type Totals } from './totals';

/** Cumulative totals plus the measures derived from them and the HyperLogLogs. */
export interface LiveMeasures extends Totals {
  netSalesFen: number;
  /** Sessions started minus sessions ended. */
  liveSessions: number;
  /** HyperLogLog estimate (standard error 0.81%). */
  uniqueViewers: number;
  /** HyperLogLog estimate of distinct hosts with any event. */
  activeHosts: number;
}

export interface MinutePoint extends Totals {
  /** Start of the minute, ms since epoch. */
  t: number;
}

export interface Windows {
  m1: Totals;
  m5: Totals;
  m60: Totals;
}

export interface Ranking {
  top: { name: string; value: number }[];
  /** How many members the leaderboard has. */
  members: number;
}

/** A totals or minute-bucket hash as Redis returns it; absent fields are 0. */
export function totalsFrom(hash: Record<string, string> | null | undefined): Totals {
  const t = emptyTotals();
  for (const f of TOTAL_FIELDS) if (hash?.[f] !== undefined) t[f] = Number(hash[f]);
  return t;
}

function add(a: Totals, b: Totals): Totals {
  const out = { ...a };
  for (const f of TOTAL_FIELDS) out[f] += b[f];
  return out;
}

/** Rolling windows from minute points that end with the current minute (at least 60 of them). */
export function windowsOf(points: readonly MinutePoint[]): Windows {
  const sum = (n: number) => points.slice(-n).reduce((acc, p) => add(acc, p), emptyTotals());
  return { m1: sum(1), m5: sum(5), m60: sum(60) };
}

/**
 * Reads the live state for REST and WebSocket channels. Every figure is summed over the
 * partitions' shares (ADR 0003): the registered partitions are read first (one SMEMBERS),
 * then every share in one pipeline on one Redis, or one pipeline per slot in parallel on
 * a Redis Cluster. Uniques merge the partitions' HyperLogLogs in one slot
 * (countUniqueAcross); leaderboards run the threshold algorithm over the partitions'
 * sorted sets (SummedLeaderboard).
 */
export class LiveStateReader {
  readonly keys: KeySpace;
  readonly live: LiveKeySpace;

  constructor(
    private readonly redis: AnyRedis,
    private readonly prefix = DEFAULT_KEY_PREFIX,
  ) {
    this.keys = keySpace(prefix);
    this.live = liveKeys(prefix);
  }

  /** The registered partition tags (`<topic>/<p>`): the shares a scope's figures are summed over. */
  async partitionTags(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.partitions)).sort();
  }

  private read<T>(reads: readonly KeyedRead[]): Promise<T[]> {
    return readGrouped<T>(this.redis, reads);
  }

  /** The stored scopes of `scopes` (a campaign's live generation, campaign-scopes.ts). */
  private stored(scopes: readonly string[]): Promise<string[]> {
    return resolveLiveScopes(this.redis, scopes, this.prefix);
  }

  async measures(logical: readonly string[]): Promise<Map<string, LiveMeasures>> {
    const [tags, scopes] = await Promise.all([this.partitionTags(), this.stored(logical)]);
    const hashes = await this.read<Record<string, string>>(
      scopes.flatMap((s) => tags.map((tag) => hgetall(this.keys.totals(tag, s)))),
    );
    const uniques = await Promise.all(
      scopes.flatMap((s) => [
        countUniqueAcross(
          this.redis,
          tags.map((tag) => this.live.forTag(tag).viewers(s)),
          { prefix: this.prefix },
        ),
        countUniqueAcross(
          this.redis,
          tags.map((tag) => this.live.forTag(tag).hosts(s)),
          { prefix: this.prefix },
        ),
      ]),
    );
    return new Map(
      scopes.map((_, i) => {
        const t = sumTotals(hashes.slice(i * tags.length, (i + 1) * tags.length));
        return [
          logical[i]!,
          {
            ...t,
            netSalesFen: t.salesFen - t.refundsFen,
            liveSessions: liveSessionsOf(t),
            uniqueViewers: uniques[i * 2]!,
            activeHosts: uniques[i * 2 + 1]!,
          },
        ];
      }),
    );
  }

  /** The last `minutes` minute buckets ending with the current one, oldest first, zero-filled, summed over partitions. */
  async series(logical: readonly string[], now: number, minutes = 120): Promise<Map<string, MinutePoint[]>> {
    const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const starts = Array.from({ length: minutes }, (_, i) => current - (minutes - 1 - i) * MINUTE_MS);
    const [tags, scopes] = await Promise.all([this.partitionTags(), this.stored(logical)]);
    const P = tags.length;
    const replies = await this.read<Record<string, string>>(
      scopes.flatMap((s) => starts.flatMap((t) => tags.map((tag) => hgetall(this.live.forTag(tag).minute(s, t))))),
    );
    return new Map(
      scopes.map((_, i) => [
        logical[i]!,
        starts.map((t, j) => {
          const at = (i * minutes + j) * P;
          return { t, ...sumTotals(replies.slice(at, at + P)) };
        }),
      ]),
    );
  }

  /** Rolling windows over the current minute and the 4 and 59 before it. */
  async windows(scopes: readonly string[], now: number): Promise<Map<string, Windows>> {
    const series = await this.series(scopes, now, 60);
    return new Map([...series].map(([scope, points]) => [scope, windowsOf(points)]));
  }

  private async leaderboard(logical: string, dimension: LiveRankDimension, measure: LiveRankMeasure) {
    const [tags, [parent]] = await Promise.all([this.partitionTags(), this.stored([logical])]);
    const keys = tags.map((tag) => this.live.forTag(tag).ranking(parent!, dimension, measure));
    return { keys, board: new SummedLeaderboard(this.redis, keys) };
  }

  /**
   * The top `limit` by the sum over partitions. `members` counts the union of the
   * partitions' members exactly, by reading every share's members: its cost grows with
   * the leaderboard (ADR 0003 leaves it to become an estimate or be dropped).
   */
  async ranking(parent: string, dimension: LiveRankDimension, measure: LiveRankMeasure, limit = 10): Promise<Ranking> {
    const { keys, board } = await this.leaderboard(parent, dimension, measure);
    if (keys.length === 0) return { top: [], members: 0 };
    const [{ top }, members] = await Promise.all([board.top(limit), this.unionSize(keys)]);
    return { top: top.map((e) => ({ name: e.member, value: e.score })), members };
  }

  private async unionSize(keys: readonly string[]): Promise<number> {
    if (keys.length === 1) return this.redis.zcard(keys[0]!);
    const lists = await Promise.all(keys.map((k) => this.redis.zrange(k, 0, -1)));
    return new Set(lists.flat()).size;
  }

  /**
   * 1-based position of one member (e.g. a city nationally) by its sum over partitions,
   * or null. A member summing above `value` has a share above `value / P` in some
   * partition (the largest of P numbers is at least their mean), so only those are read.
   */
  async rankOf(
    parent: string,
    dimension: LiveRankDimension,
    measure: LiveRankMeasure,
    member: string,
  ): Promise<{ rank: number; value: number; members: number } | null> {
    const { keys, board } = await this.leaderboard(parent, dimension, measure);
    if (keys.length === 0) return null;
    const value = await board.scoreOf(member);
    if (value === null) return null;
    const floor = value / keys.length;
    const candidates = new Set(
      (await Promise.all(keys.map((k) => this.redis.zrangebyscore(k, `(${floor}`, '+inf')))).flat(),
    );
    candidates.delete(member);
    const sums = await Promise.all([...candidates].map((m) => board.scoreOf(m)));
    const higher = sums.filter((sum) => sum !== null && sum > value).length;
    return { rank: higher + 1, value, members: await this.unionSize(keys) };
  }
}

function hgetall(key: string): KeyedRead {
  return { key, queue: (p) => void p.hgetall(key) };
}

/** The sum of totals or minute-bucket hashes (the shares of one scope or minute). */
export function sumTotals(hashes: readonly (Record<string, string> | null | undefined)[]): Totals {
  const sum = emptyTotals();
  for (const hash of hashes) {
    if (!hash) continue;
    for (const f of TOTAL_FIELDS) if (hash[f] !== undefined) sum[f] += Number(hash[f]);
  }
  return sum;
}
