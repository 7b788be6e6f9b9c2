import type { Redis } from 'ioredis';
import { MINUTE_MS, liveKeys, type LiveKeys, type LiveRankDimension, type LiveRankMeasure } from './live-keys';
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

/** Reads the live state for REST and WebSocket channels; every read is one pipeline. */
export class LiveStateReader {
  readonly keys: KeySpace;
  readonly live: LiveKeys;

  constructor(
    private readonly redis: Redis,
    prefix = DEFAULT_KEY_PREFIX,
  ) {
    this.keys = keySpace(prefix);
    this.live = liveKeys(prefix);
  }

  private async exec<T>(build: (p: ReturnType<Redis['pipeline']>) => void): Promise<T[]> {
    const pipeline = this.redis.pipeline();
    build(pipeline);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value as T;
    });
  }

  async measures(scopes: readonly string[]): Promise<Map<string, LiveMeasures>> {
    const replies = await this.exec<unknown>((p) => {
      for (const s of scopes) p.hgetall(this.keys.totals(s)).pfcount(this.live.viewers(s)).pfcount(this.live.hosts(s));
    });
    return new Map(
      scopes.map((s, i) => {
        const t = totalsFrom(replies[i * 3] as Record<string, string>);
        return [
          s,
          {
            ...t,
            netSalesFen: t.salesFen - t.refundsFen,
            liveSessions: liveSessionsOf(t),
            uniqueViewers: Number(replies[i * 3 + 1]),
            activeHosts: Number(replies[i * 3 + 2]),
          },
        ];
      }),
    );
  }

  /** The last `minutes` minute buckets ending with the current one, oldest first, zero-filled. */
  async series(scopes: readonly string[], now: number, minutes = 120): Promise<Map<string, MinutePoint[]>> {
    const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const starts = Array.from({ length: minutes }, (_, i) => current - (minutes - 1 - i) * MINUTE_MS);
    const replies = await this.exec<Record<string, string>>((p) => {
      for (const s of scopes) for (const t of starts) p.hgetall(this.live.minute(s, t));
    });
    return new Map(scopes.map((s, i) => [s, starts.map((t, j) => ({ t, ...totalsFrom(replies[i * minutes + j]) }))]));
  }

  /** Rolling windows over the current minute and the 4 and 59 before it. */
  async windows(scopes: readonly string[], now: number): Promise<Map<string, Windows>> {
    const series = await this.series(scopes, now, 60);
    return new Map([...series].map(([scope, points]) => [scope, windowsOf(points)]));
  }

  async ranking(parent: string, dimension: LiveRankDimension, measure: LiveRankMeasure, limit = 10): Promise<Ranking> {
    const key = this.live.ranking(parent, dimension, measure);
    const [flat, members] = await this.exec<unknown>((p) => p.zrevrange(key, 0, limit - 1, 'WITHSCORES').zcard(key));
    const list = flat as string[];
    const top: Ranking['top'] = [];
    for (let i = 0; i < list.length; i += 2) top.push({ name: list[i]!, value: Number(list[i + 1]) });
    return { top, members: Number(members) };
  }

  /** 1-based position of one member (e.g. a city nationally), or null. */
  async rankOf(
    parent: string,
    dimension: LiveRankDimension,
    measure: LiveRankMeasure,
    member: string,
  ): Promise<{ rank: number; value: number; members: number } | null> {
    const key = this.live.ranking(parent, dimension, measure);
    const [score, members] = await this.exec<unknown>((p) => p.zscore(key, member).zcard(key));
    if (score === null) return null;
    const [higher] = await this.exec<number>((p) => p.zcount(key, `(${score as string}`, '+inf'));
    return { rank: Number(higher) + 1, value: Number(score), members: Number(members) };
  }
}
