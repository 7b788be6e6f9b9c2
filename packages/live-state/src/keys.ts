/**
 * Every service's default REDIS_KEY_PREFIX: all live state, the campaign catalogue and the
 * gateway's and collector's rate-limit counters sit under it.
 */
export const DEFAULT_KEY_PREFIX = 'lt';

/**
 * A Kafka partition's hash tag content, `<topic>/<p>` (ADR 0003): every key one partition
 * batch writes carries `{<topic>/<p>}`, so each hot-path script touches one Redis Cluster
 * slot. The topic keeps two topics' partition 7 apart. Kafka topic names cannot hold `{`,
 * `}` or `/`, so the tag is unambiguous.
 */
export function partitionTag(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The topic and partition of a tag made by partitionTag, or null when it is not one. */
export function parsePartitionTag(tag: string): { topic: string; partition: number } | null {
  const m = /^(.+)\/(\d+)$/.exec(tag);
  return m ? { topic: m[1]!, partition: Number(m[2]) } : null;
}

/**
 * Redis key layout v2 (ADR 0003): the Kafka partition is the unit of atomic state.
 *
 * Per partition (tag `{<topic>/<p>}`): its offsets hash, live-state marker, rebuild lock,
 * copy of the campaign catalogue version, change channel, and its SHARE of every scope's
 * totals (live-keys.ts: minute buckets, HyperLogLogs, leaderboards). A scope's totals are
 * the sum of its shares over the partitions in the registry (`partitions`).
 */
export interface KeySpace {
  /**
   * Set of the partition tags (`<topic>/<p>`) that hold live state under this prefix,
   * written (SADD, idempotent) before a partition is first taken: readers sum shares over it.
   */
  partitions: string;
  /**
   * The partition's offsets hash: fields `<p>` applied offset, `gen:<p>` owner generation,
   * `durable:<p>` durable offset, `claimed:<p>` last resend claim (ADR 0001's fields, one
   * partition per hash).
   */
  offsets(tag: string): string;
  /** 'ready' while Redis holds the partition's live state; missing after data loss until a rebuild. */
  liveState(tag: string): string;
  /** Present (with a TTL) while a rebuild replaces the partition's live state. */
  rebuildLock(tag: string): string;
  /** The partition's copy of the campaign catalogue version; the apply checks it. */
  catalogueVersion(tag: string): string;
  /** The partition's share of a scope's totals (a hash of measures). */
  totals(tag: string, scope: string): string;
  /** Sharded pub/sub channel (SPUBLISH) of the scopes the partition's applies changed. */
  changesChannel(tag: string): string;
  /** SCAN pattern matching every totals share. */
  totalsPattern: string;
}

/**
 * Applied offsets belong to the topic's partitions and the live state, not to a consumer
 * group: a second group or a renamed one (a blue/green deploy) takes over the same
 * positions instead of counting the retained topic again.
 */
export function keySpace(prefix = DEFAULT_KEY_PREFIX): KeySpace {
  return {
    partitions: `${prefix}:partitions`,
    offsets: (tag) => `${prefix}:off:{${tag}}`,
    liveState: (tag) => `${prefix}:state:{${tag}}`,
    rebuildLock: (tag) => `${prefix}:rebuild:{${tag}}`,
    catalogueVersion: (tag) => `${prefix}:cv:{${tag}}`,
    totals: (tag, scope) => `${prefix}:t:{${tag}}:${scope}`,
    changesChannel: (tag) => `${prefix}:changed:{${tag}}`,
    totalsPattern: `${globEscape(prefix)}:t:{*}:*`,
  };
}

/** Recovers the partition tag and the scope from a totals share key, or null if the key is not one. */
export function scopeOfTotalsKey(prefix: string, key: string): { tag: string; scope: string } | null {
  const head = `${prefix}:t:{`;
  if (!key.startsWith(head)) return null;
  const close = key.indexOf('}:', head.length);
  if (close < 0) return null;
  return { tag: key.slice(head.length, close), scope: key.slice(close + 2) };
}

/** The partition tags of `topic` among a registry's members, by partition. */
export function partitionsOf(tags: Iterable<string>, topic: string): number[] {
  const out: number[] = [];
  for (const tag of tags) {
    const parsed = parsePartitionTag(tag);
    if (parsed && parsed.topic === topic) out.push(parsed.partition);
  }
  return out.sort((a, b) => a - b);
}

/** Escapes Redis glob characters so a prefix matches only itself in SCAN MATCH. */
export function globEscape(text: string): string {
  return text.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}
