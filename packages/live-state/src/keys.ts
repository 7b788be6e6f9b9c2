/**
 * Every service's default REDIS_KEY_PREFIX: all live state, the campaign catalogue and the
 * gateway's and collector's rate-limit counters sit under it.
 */
export const DEFAULT_KEY_PREFIX = 'lt';

/**
 * Redis key layout. The scope sits in a hash tag so that, on Redis Cluster, every
 * key of one scope lands in one slot.
 */
export interface KeySpace {
  totals(scope: string): string;
  /** Per partition: applied offset (`<p>`), owner generation (`gen:<p>`), durable offset (`durable:<p>`). */
  appliedOffsets(topic: string): string;
  changesChannel: string;
  /** 'ready' while Redis holds live state; missing after data loss until a rebuild. */
  liveState: string;
  /** Present (with a TTL) while a rebuild replaces the live state. */
  rebuildLock: string;
  /** SCAN pattern matching every totals key. */
  totalsPattern: string;
}

/**
 * Applied offsets belong to the topic and the live state, not to a consumer group: a
 * second group or a renamed one (a blue/green deploy) takes over the same positions
 * instead of counting the retained topic again.
 */
export function keySpace(prefix = DEFAULT_KEY_PREFIX): KeySpace {
  return {
    totals: (scope) => `${prefix}:t:{${scope}}`,
    appliedOffsets: (topic) => `${prefix}:off:${topic}`,
    changesChannel: `${prefix}:changed`,
    liveState: `${prefix}:state`,
    rebuildLock: `${prefix}:rebuild`,
    totalsPattern: `${globEscape(prefix)}:t:{*}`,
  };
}

/** Recovers the scope from a totals key, or null if the key is not one. */
export function scopeOfTotalsKey(prefix: string, key: string): string | null {
  const head = `${prefix}:t:{`;
  return key.startsWith(head) && key.endsWith('}') ? key.slice(head.length, -1) : null;
}

/** Escapes Redis glob characters so a prefix matches only itself in SCAN MATCH. */
export function globEscape(text: string): string {
  return text.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}
