/**
 * Redis key layout. The scope sits in a hash tag so that, on Redis Cluster, every
 * key of one scope lands in one slot.
 */
export interface KeySpace {
  totals(scope: string): string;
  appliedOffsets(topic: string): string;
  changesChannel: string;
}

export function keySpace(prefix = 'lt', group = 'ingest'): KeySpace {
  return {
    totals: (scope) => `${prefix}:t:{${scope}}`,
    appliedOffsets: (topic) => `${prefix}:off:${group}:${topic}`,
    changesChannel: `${prefix}:changed`,
  };
}

/** Recovers the scope from a totals key, or null if the key is not one. */
export function scopeOfTotalsKey(prefix: string, key: string): string | null {
  const head = `${prefix}:t:{`;
  return key.startsWith(head) && key.endsWith('}') ? key.slice(head.length, -1) : null;
}
