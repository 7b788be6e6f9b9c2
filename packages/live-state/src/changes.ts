import type { Redis } from 'ioredis';
import type { AnyRedis } from './cluster/redis-client';
import { DEFAULT_KEY_PREFIX, keySpace } from './keys';

/**
 * The change message: the scopes one write changed, as a JSON array of strings, published
 * on the partition's sharded channel (KeySpace.changesChannel(tag), SPUBLISH) by the batch
 * apply (and, per partition, the campaign swap and a rebuild), and read by every gateway.
 * Encoded and decoded only here.
 */
export function encodeChangedScopes(scopes: readonly string[]): string {
  return JSON.stringify(scopes);
}

/**
 * The scopes of a change message (entries that are not strings left out); null when it
 * is not an array. Throws when it is not JSON.
 */
export function decodeChangedScopes(message: string): string[] | null {
  const scopes = JSON.parse(message) as unknown;
  return Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : null;
}

export interface ChangeSubscription {
  /** The partition tags whose channels are subscribed. */
  readonly tags: ReadonlySet<string>;
  /** Subscribes every known channel again (after the subscriber connection came back), then calls onSubscribed. */
  resubscribe(): Promise<void>;
  /** Reads the partition registry now and subscribes the channels of partitions new to it. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  /** A connection of its own: a subscribed Redis connection cannot run other commands. */
  subscriber: Redis;
  /** Reads the partition registry (KeySpace.partitions). */
  commands: AnyRedis;
  prefix?: string;
  /** The scopes a write to partition `tag` changed. */
  onChanged(scopes: string[], tag: string): void;
  /**
   * Channels were (re)subscribed: notifications published before may have been missed
   * (pub/sub is at most once), so the caller re-reads everything it watches.
   */
  onSubscribed?(tags: readonly string[]): void;
  onError?(err: Error): void;
  /** How often the registry is read for new partitions (default 1 s). */
  pollMs?: number;
}

/**
 * Listens for the scopes each applied batch changed, on every registered partition's
 * sharded channel (ADR 0003: the apply SPUBLISHes in its partition's slot). The registry
 * is polled for partitions taken since; a partition is registered before its first apply,
 * and once its channel is subscribed onSubscribed makes the caller re-read, so nothing
 * applied before the subscription is missed.
 *
 * One Redis (Redis 7) serves sharded channels too. On a Redis Cluster the subscriber must
 * follow each slot's master (ioredis Cluster's sharded subscribers): ADR 0003 Milestone 2.
 */
export async function subscribeToChanges(options: ChangeFeedOptions): Promise<ChangeSubscription> {
  const { subscriber, commands, onChanged, onError = () => {} } = options;
  const keys = keySpace(options.prefix ?? DEFAULT_KEY_PREFIX);
  const tags = new Set<string>();
  const tagOfChannel = new Map<string, string>();
  let closed = false;
  subscriber.on('smessage', (channel: string, message: string) => {
    const tag = tagOfChannel.get(channel);
    if (tag === undefined) return;
    try {
      const scopes = decodeChangedScopes(message);
      if (scopes) onChanged(scopes, tag);
    } catch (err) {
      onError(err as Error);
    }
  });
  const subscribe = async (add: readonly string[]) => {
    if (add.length === 0) return;
    const channels = add.map((tag) => keys.changesChannel(tag));
    await subscriber.ssubscribe(...channels);
    add.forEach((tag, i) => {
      tags.add(tag);
      tagOfChannel.set(channels[i]!, tag);
    });
    options.onSubscribed?.(add);
  };
  const refresh = async () => {
    if (closed) return;
    const registered = await commands.smembers(keys.partitions);
    await subscribe(registered.filter((tag) => !tags.has(tag)).sort());
  };
  // The registry may not be readable yet (commands connection still connecting): the timer
  // tries again, and whatever is subscribed later is re-read (onSubscribed).
  await refresh().catch((err: unknown) => onError(err as Error));
  const timer = setInterval(() => refresh().catch((err: unknown) => onError(err as Error)), options.pollMs ?? 1_000);
  timer.unref();
  return {
    tags,
    refresh,
    async resubscribe() {
      const all = [...tags];
      if (all.length > 0) await subscriber.ssubscribe(...all.map((tag) => keys.changesChannel(tag)));
      options.onSubscribed?.(all);
      await refresh();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      if (tags.size > 0)
        await subscriber.sunsubscribe(...[...tags].map((tag) => keys.changesChannel(tag))).catch(() => undefined);
    },
  };
}
