import { logicalScope, resolveLiveScopes } from './campaign-scopes';
import { readGrouped } from './cluster/grouped-pipeline';
import type { AnyRedis } from './cluster/redis-client';
import { DEFAULT_KEY_PREFIX, keySpace, type KeySpace } from './keys';
import { MINUTE_MS, liveKeys, type LiveKeySpace } from './live-keys';
import { totalsFrom, type MinutePoint } from './live-reader';
import { TOTAL_FIELDS, emptyTotals, type Totals } from './totals';

/**
 * Minutes re-read when a scope's change notification arrives: the one before the current
 * minute (events late by seconds at the turn of a minute), the current one, and the next
 * (producers whose clock runs a little ahead). Later or earlier changes are caught by the
 * totals check below and cost one full read.
 */
const RECENT_OFFSETS = [-1, 0, 1] as const;
/** A scope nobody asked for this long is dropped; asking again starts with a full read. */
const EVICT_AFTER_MS = 5 * 60_000;

export type WindowReadKind = 'full' | 'recent' | 'slide';

/** One partition's share of a scope: `<tag>\n<scope>` (a tag holds no newline). */
type ShareId = string;
const shareId = (tag: string, scope: string): ShareId => `${tag}\n${scope}`;
const splitShare = (id: ShareId): { tag: string; scope: string } => {
  const at = id.indexOf('\n');
  return { tag: id.slice(0, at), scope: id.slice(at + 1) };
};

interface ScopeWindow {
  /** Minute start → bucket. Consistent with `totals` (see the class comment). */
  buckets: Map<number, Totals>;
  /** The scope's cumulative totals, read in the same transaction as the last full or recent read. */
  totals: Totals;
  /** Minutes held back from the current one (60 for windows, 120 for series). */
  depth: number;
  /** A change notification arrived since the last read. */
  changed: boolean;
  /** The next read must read every bucket again. */
  full: boolean;
  usedAt: number;
}

/**
 * Minute buckets of the scopes watched by live `windows:` and `series:` channels, held
 * between reads so that a tick costs Redis nothing for a scope that did not change, and a
 * changed scope costs one transaction of four reads instead of 60 or 120: the per-tick
 * reads do not grow with the number of channels, subscribers or buckets.
 *
 * Which buckets a change touched is not in the change message (it names scopes only), and
 * closed minutes still take late events. What makes the shortcut exact is the apply script:
 * it adds each event to the scope's totals and to its minute bucket in one atomic step, by
 * non-negative amounts. So on a change, one transaction reads the totals and the recent
 * buckets (RECENT_OFFSETS); if the totals grew by exactly what those buckets grew by, field
 * by field, every other bucket is unchanged (their growth is non-negative and sums to zero).
 * Anything else — a late event in an older minute, events older than the buckets' TTL, a
 * shrink (rebuild, campaign backfill), no visible growth at all (a rebuild that kept the
 * totals), an unknown bucket — costs one full read of the window, as does every change of a
 * campaign scope (its backfill rewrites older minutes while its totals move separately).
 * Minutes entering the window (and the next minute) as the clock moves are read once, on
 * their own, before any recent read compares with them.
 *
 * Per partition (ADR 0003): everything above holds for each partition's share of a scope
 * (its share of the totals and of the minute buckets share the partition's slot, so the
 * transaction stays possible on a Redis Cluster), so the cache keeps one window per share
 * and answers their sum over the registered partitions. A change message that names its
 * partition marks only that share changed.
 *
 * Reads must not overlap (the live hub runs them one after another).
 */
export class MinuteWindowCache {
  /** Per share (ShareId). */
  private readonly scopes = new Map<ShareId, ScopeWindow>();
  private readonly keys: KeySpace;
  private readonly live: LiveKeySpace;

  constructor(
    private readonly redis: AnyRedis,
    prefix = DEFAULT_KEY_PREFIX,
    /** Told of every read, for metrics and tests. */
    private readonly onRead: (kind: WindowReadKind, scope: string) => void = () => undefined,
  ) {
    this.keys = keySpace(prefix);
    this.live = liveKeys(prefix);
  }

  /**
   * Scopes whose change notification arrived (from partition `tag`'s channel; without a
   * tag, every partition's share); only cached ones matter, the rest start with a full read.
   */
  noteChanged(scopes: Iterable<string>, tag?: string): void {
    const wanted = new Set(scopes);
    for (const [id, window] of this.scopes) {
      const share = splitShare(id);
      if (wanted.has(logicalScope(share.scope)) && (tag === undefined || share.tag === tag)) window.changed = true;
    }
  }

  /** Notifications may have been lost (the change feed reconnected): read everything again. */
  noteAllChanged(): void {
    for (const window of this.scopes.values()) window.full = true;
  }

  /**
   * The last `depth` minute buckets of each scope (scope → depth), oldest first, ending with
   * the current minute, zero-filled. Throws when Redis fails; those scopes are then read in
   * full next time.
   */
  async points(scopeRequests: ReadonlyMap<string, number>, now: number): Promise<Map<string, MinutePoint[]>> {
    const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    this.evict(now);
    const tags = (await this.redis.smembers(this.keys.partitions)).sort();
    // Shares are held under the stored scope: a campaign's live generation (campaign-scopes.ts),
    // so a swap makes new windows (read in full) and the old ones age out.
    const asked = [...scopeRequests.keys()];
    const storedOf = new Map(
      (await resolveLiveScopes(this.redis, asked, this.keys.partitions.slice(0, -':partitions'.length))).map(
        (stored, i) => [asked[i]!, stored],
      ),
    );
    const requests = new Map<ShareId, number>();
    for (const [scope, depth] of scopeRequests)
      for (const tag of tags) requests.set(shareId(tag, storedOf.get(scope)!), depth);
    const plan = this.plan(requests, current, now);
    try {
      // Slides first: a recent read compares with every recent minute, so each must be held.
      await Promise.all([this.readSlides(plan.slides), ...plan.full.map((scope) => this.readFull(scope, current))]);
      const stale = await Promise.all(plan.recent.map((scope) => this.readRecent(scope, current)));
      await Promise.all(plan.recent.filter((_, i) => stale[i]).map((scope) => this.readFull(scope, current)));
    } catch (err) {
      for (const scope of requests.keys()) this.scopes.get(scope)!.full = true;
      throw err;
    }
    return new Map(
      [...scopeRequests].map(([scope, asked]) => {
        // A share may hold a deeper window than asked (kept from an earlier request): answer the deepest.
        const windows = tags.map((tag) => this.window(shareId(tag, storedOf.get(scope)!), current));
        const depth = Math.max(asked, ...windows.map((w) => w.length));
        const first = current - (depth - 1) * MINUTE_MS;
        const sum = Array.from({ length: depth }, (_, i) => ({ t: first + i * MINUTE_MS, ...emptyTotals() }));
        for (const window of windows)
          for (const point of window) {
            const into = sum[(point.t - first) / MINUTE_MS]!;
            for (const f of TOTAL_FIELDS) into[f] += point[f];
          }
        return [scope, sum];
      }),
    );
  }

  /** How many partition shares of scopes are held (for tests and metrics). */
  get size(): number {
    return this.scopes.size;
  }

  private plan(requests: ReadonlyMap<string, number>, current: number, now: number) {
    const full: string[] = [];
    const recent: string[] = [];
    const slides: [string, number][] = [];
    for (const [scope, depth] of requests) {
      let window = this.scopes.get(scope);
      // Made before the read so that a notification arriving meanwhile is not lost.
      if (!window)
        this.scopes.set(
          scope,
          (window = { buckets: new Map(), totals: emptyTotals(), depth, changed: false, full: true, usedAt: now }),
        );
      window.usedAt = now;
      if (depth > window.depth) Object.assign(window, { depth, full: true });
      if (window.full || (window.changed && splitShare(scope).scope.startsWith('campaign:'))) {
        full.push(scope);
        window.changed = false;
        continue;
      }
      if (window.changed) recent.push(scope);
      window.changed = false;
      // The window and the next minute: a recent read needs each of its minutes held.
      for (let t = current - (window.depth - 1) * MINUTE_MS; t <= current + MINUTE_MS; t += MINUTE_MS) {
        if (!window.buckets.has(t)) slides.push([scope, t]);
      }
    }
    return { full, recent, slides };
  }

  /**
   * Minutes that entered the window since the last read. Read on their own, after the totals
   * they are compared with: a value read later is never below the one that went with those
   * totals, so a later recent read can only find less growth than happened, never more, and
   * a change it cannot explain still costs a full read.
   */
  private async readSlides(slides: readonly [string, number][]): Promise<void> {
    if (slides.length === 0) return;
    const replies = await readGrouped<Record<string, string>>(
      this.redis,
      slides.map(([id, t]) => {
        const { tag, scope } = splitShare(id);
        const key = this.live.forTag(tag).minute(scope, t);
        return { key, queue: (p) => void p.hgetall(key) };
      }),
    );
    slides.forEach(([id, t], i) => {
      this.scopes.get(id)!.buckets.set(t, totalsFrom(replies[i]));
      this.onRead('slide', splitShare(id).scope);
    });
  }

  /** Totals and the recent buckets in one transaction; true when the change is not explained by them. */
  private async readRecent(scope: string, current: number): Promise<boolean> {
    const minutes = RECENT_OFFSETS.map((o) => current + o * MINUTE_MS);
    const [totals, ...buckets] = await this.transaction(scope, minutes);
    this.onRead('recent', splitShare(scope).scope);
    const window = this.scopes.get(scope)!;
    const grown = subtract(totals!, window.totals);
    const bucketGrowth = emptyTotals();
    for (const [i, t] of minutes.entries()) {
      const before = window.buckets.get(t);
      // Treating an unknown minute as empty could make up growth that hides a change elsewhere.
      if (!before) return true;
      const growth = subtract(buckets[i]!, before);
      if (TOTAL_FIELDS.some((f) => growth[f] < 0)) return true;
      for (const f of TOTAL_FIELDS) bucketGrowth[f] += growth[f];
    }
    const explained = TOTAL_FIELDS.every((f) => grown[f] === bucketGrowth[f]) && TOTAL_FIELDS.some((f) => grown[f] > 0);
    if (!explained) return true;
    window.totals = totals!;
    minutes.forEach((t, i) => window.buckets.set(t, buckets[i]!));
    return false;
  }

  /** Totals and every bucket of the window (and the next minute) in one transaction. */
  private async readFull(scope: string, current: number): Promise<void> {
    const window = this.scopes.get(scope)!;
    const minutes = Array.from({ length: window.depth + 1 }, (_, i) => current - (window.depth - 1 - i) * MINUTE_MS);
    const [totals, ...buckets] = await this.transaction(scope, minutes);
    this.onRead('full', splitShare(scope).scope);
    window.totals = totals!;
    window.buckets = new Map(minutes.map((t, i) => [t, buckets[i]!]));
    window.full = false;
  }

  /** One MULTI/EXEC: every key carries the partition's hash tag, so this works on Redis Cluster too. */
  private async transaction(id: ShareId, minutes: readonly number[]): Promise<Totals[]> {
    const { tag, scope } = splitShare(id);
    const live = this.live.forTag(tag);
    const multi = this.redis.multi().hgetall(this.keys.totals(tag, scope));
    for (const t of minutes) multi.hgetall(live.minute(scope, t));
    const replies = (await multi.exec()) ?? [];
    if (replies.length !== minutes.length + 1) throw new Error(`transaction for ${scope} was aborted`);
    return replies.map(([err, hash]) => {
      if (err) throw err;
      return totalsFrom(hash as Record<string, string>);
    });
  }

  private window(scope: string, current: number): MinutePoint[] {
    const window = this.scopes.get(scope)!;
    const first = current - (window.depth - 1) * MINUTE_MS;
    for (const t of window.buckets.keys()) if (t < first) window.buckets.delete(t);
    return Array.from({ length: window.depth }, (_, i) => {
      const t = first + i * MINUTE_MS;
      return { t, ...(window.buckets.get(t) ?? emptyTotals()) };
    });
  }

  private evict(now: number): void {
    for (const [scope, window] of this.scopes) if (now - window.usedAt > EVICT_AFTER_MS) this.scopes.delete(scope);
  }
}

function subtract(a: Totals, b: Totals): Totals {
  const out = emptyTotals();
  for (const f of TOTAL_FIELDS) out[f] = a[f] - b[f];
  return out;
}
