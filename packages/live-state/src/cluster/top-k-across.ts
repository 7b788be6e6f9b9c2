import type { AnyRedis } from './redis-client';

export interface SummedEntry {
  member: string;
  score: number;
}

export interface TopKResult {
  top: SummedEntry[];
  /** Redis commands sent (pages and score look-ups), to weigh the read. */
  commands: number;
  /** Pages read from each set. */
  rounds: number;
}

export interface TopKOptions {
  /** Members read from each set per round; k unless told. */
  pageSize?: number;
  /** A guard: the read fails rather than page on past this many rounds. */
  maxRounds?: number;
}

/**
 * Redis's order of a sorted set read from the top (ZREVRANGE): score descending, then
 * member descending as bytes (memcmp), not as JavaScript compares strings.
 */
export function redisDescending(a: SummedEntry, b: SummedEntry): number {
  if (a.score !== b.score) return a.score > b.score ? -1 : 1;
  return Buffer.compare(Buffer.from(b.member), Buffer.from(a.member));
}

/**
 * A leaderboard whose members score the sum of their scores in several sorted sets kept in
 * different slots (one per partition), where ZUNIONSTORE is refused (CROSSSLOT). Reads the
 * same figures and order as ZUNIONSTORE (SUM) + ZREVRANGE of those sets on one Redis.
 */
export class SummedLeaderboard {
  constructor(
    private readonly client: AnyRedis,
    private readonly keys: readonly string[],
  ) {}

  /** A member's summed score (ZSCORE on each set), null when no set holds it. */
  async scoreOf(member: string): Promise<number | null> {
    const scores = await Promise.all(this.keys.map((key) => this.client.zscore(key, member)));
    return sumOf(scores);
  }

  /**
   * The k best members by summed score, with exact sums: Fagin's threshold algorithm. Each
   * round reads the next page of every set not yet exhausted, looks each newly seen member
   * up in the other sets (one ZMSCORE per set), and stops once the k-th best sum beats the
   * best sum an unseen member could still have (the sum of the page floors), or every set
   * is read to its end.
   */
  async top(k: number, options: TopKOptions = {}): Promise<TopKResult> {
    const pageSize = options.pageSize ?? k;
    const maxRounds = options.maxRounds ?? 10_000;
    if (!(k >= 1 && pageSize >= 1)) throw new RangeError(`top-k needs k and pageSize of at least 1 (k ${k})`);
    // One set is its own order: no sums, and its ties already come in Redis's order.
    if (this.keys.length === 1) return { top: await this.page(0, 0, k), commands: 1, rounds: 1 };
    const best = new TopList(k);
    const seen = new Set<string>();
    const cursors = this.keys.map(() => ({ offset: 0, floor: 0, exhausted: false }));
    let commands = 0;
    for (let rounds = 1; rounds <= maxRounds; rounds++) {
      const open = cursors.flatMap((cursor, set) => (cursor.exhausted ? [] : [set]));
      const pages = await Promise.all(open.map((set) => this.page(set, cursors[set]!.offset, pageSize)));
      commands += open.length;
      const pageScores = this.keys.map(() => new Map<string, number>());
      open.forEach((set, i) => {
        const page = pages[i]!;
        const cursor = cursors[set]!;
        cursor.offset += page.length;
        cursor.exhausted = page.length < pageSize;
        cursor.floor = page.at(-1)?.score ?? 0;
        for (const { member, score } of page) pageScores[set]!.set(member, score);
      });
      const fresh = [...new Set(pageScores.flatMap((scores) => [...scores.keys()]))].filter((m) => !seen.has(m));
      for (const member of fresh) seen.add(member);
      const sums = await this.sumOver(fresh, pageScores);
      commands += sums.commands;
      for (const entry of sums.entries) best.offer(entry);
      // An unseen member scores at most each open set's floor (or 0 where it is absent).
      const threshold = cursors.reduce((sum, c) => sum + (c.exhausted ? 0 : Math.max(c.floor, 0)), 0);
      // Strictly above: an unseen member at the threshold could tie and outrank by name.
      const settled = best.full() && best.last()!.score > threshold;
      if (settled || cursors.every((c) => c.exhausted)) return { top: best.entries(), commands, rounds };
    }
    throw new Error(`top-${k} over ${this.keys.length} sets did not settle within ${maxRounds} rounds`);
  }

  private async page(set: number, offset: number, size: number): Promise<SummedEntry[]> {
    const flat = await this.client.zrevrange(this.keys[set]!, offset, offset + size - 1, 'WITHSCORES');
    const page: SummedEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) page.push({ member: flat[i]!, score: Number(flat[i + 1]) });
    return page;
  }

  /** Each member's sum over every set, added in the sets' order as ZUNIONSTORE adds; one ZMSCORE per set. */
  private async sumOver(members: string[], pageScores: Map<string, number>[]) {
    const lookups = this.keys
      .map((key, set) => ({ key, set, members: members.filter((m) => !pageScores[set]!.has(m)) }))
      .filter((lookup) => lookup.members.length > 0);
    const replies = await Promise.all(lookups.map((l) => this.client.zmscore(l.key, ...l.members)));
    const looked = this.keys.map(() => new Map<string, string | null>());
    lookups.forEach((l, i) => l.members.forEach((m, j) => looked[l.set]!.set(m, replies[i]![j] ?? null)));
    const entries = members.map((member) => ({
      member,
      score: sumOf(this.keys.map((_, set) => pageScores[set]!.get(member) ?? looked[set]!.get(member) ?? null))!,
    }));
    return { entries, commands: lookups.length };
  }
}

/** The k best entries offered so far, in Redis's order; a member pushed out can never return, as sums are final. */
class TopList {
  private readonly list: SummedEntry[] = [];

  constructor(private readonly k: number) {}

  offer(entry: SummedEntry): void {
    if (this.full() && redisDescending(entry, this.last()!) >= 0) return;
    let at = this.list.length;
    while (at > 0 && redisDescending(entry, this.list[at - 1]!) < 0) at--;
    this.list.splice(at, 0, entry);
    if (this.list.length > this.k) this.list.pop();
  }

  full(): boolean {
    return this.list.length >= this.k;
  }

  last(): SummedEntry | undefined {
    return this.list.at(-1);
  }

  entries(): SummedEntry[] {
    return [...this.list];
  }
}

function sumOf(scores: readonly (string | number | null)[]): number | null {
  const present = scores.filter((s): s is string | number => s !== null);
  return present.length === 0 ? null : present.reduce<number>((sum, s) => sum + Number(s), 0);
}
