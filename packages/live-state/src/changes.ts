import type { AnyRedis } from './cluster/redis-client';
import { subscribeSharded, type ShardedSubscription } from './cluster/sharded-subscription';
import { logicalScope } from './campaign-scopes';
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
  /** Reads the partition registry now and subscribes the channels of partitions new to it. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  /**
   * A client of its own, for subscriptions only: on one Redis SSUBSCRIBE takes the
   * connection into subscriber mode; a Cluster client needs `shardedSubscribers: true`.
   */
  subscriber: AnyRedis;
  /** Reads the partition registry (KeySpace.partitions). */
  commands: AnyRedis;
  prefix?: string;
  /** The scopes a write to partition `tag` changed. */
  onChanged(scopes: string[], tag: string): void;
  /**
   * Channels were subscribed, or subscribed again after a lost connection or a failover:
   * notifications published before may have been missed (pub/sub is at most once), so the
   * caller re-reads everything it watches.
   */
  onSubscribed?(tags: readonly string[]): void;
  onError?(err: Error): void;
  /** How often the registry is read for new partitions (default 1 s). */
  pollMs?: number;
}

/**
 * Listens for the scopes each applied batch changed, on every registered partition's
 * sharded channel (ADR 0003: the apply SPUBLISHes in its partition's slot), through
 * subscribeSharded, which re-subscribes after a lost connection or a failover and says so.
 * The registry is polled for partitions taken since: a partition is registered before its
 * first apply, and once its channel is subscribed onSubscribed makes the caller re-read, so
 * nothing applied before the subscription is missed.
 */
export async function subscribeToChanges(options: ChangeFeedOptions): Promise<ChangeSubscription> {
  const { subscriber, commands, onChanged, onError = () => {} } = options;
  const keys = keySpace(options.prefix ?? DEFAULT_KEY_PREFIX);
  const tags = new Set<string>();
  const tagOfChannel = new Map<string, string>();
  const subscriptions: ShardedSubscription[] = [];
  let closed = false;
  const onMessage = (channel: string, message: string) => {
    const tag = tagOfChannel.get(channel);
    if (tag === undefined) return;
    try {
      const scopes = decodeChangedScopes(message);
      // An apply names a campaign's stored generation (`campaign:<id>@<gen>`); readers watch `campaign:<id>`.
      if (scopes) onChanged([...new Set(scopes.map(logicalScope))], tag);
    } catch (err) {
      onError(err as Error);
    }
  };
  // One subscription per set of partitions found together; each recovers on its own.
  const subscribe = async (add: readonly string[]) => {
    if (add.length === 0) return;
    const channels = add.map((tag) => keys.changesChannel(tag));
    channels.forEach((channel, i) => tagOfChannel.set(channel, add[i]!));
    const subscription = await subscribeSharded(subscriber, channels, {
      onMessage,
      onResubscribed: () => options.onSubscribed?.(add),
      onError,
    });
    subscriptions.push(subscription);
    for (const tag of add) tags.add(tag);
    options.onSubscribed?.(add);
  };
  let refreshing: Promise<void> | undefined;
  const refresh = () =>
    (refreshing ??= (async () => {
      try {
        if (closed) return;
        const registered = await commands.smembers(keys.partitions);
        await subscribe(registered.filter((tag) => !tags.has(tag)).sort());
      } finally {
        refreshing = undefined;
      }
    })());
  // The registry is read once the commands connection is ready (a gateway's fails fast
  // without an offline queue, so reading while it connects would only report an error), and
  // by the timer. The subscription is handed back only once the registry was read
  // and its channels subscribed, so a caller that waits for it (a gateway's readiness) reads
  // nothing before its channels are subscribed, and nothing read has to be read again.
  let synced: () => void = () => undefined;
  const firstSync = new Promise<void>((resolve) => (synced = resolve));
  const tryRefresh = () =>
    refresh().then(
      () => synced(),
      (err: unknown) => onError(err as Error),
    );
  const onReady = () => void tryRefresh();
  commands.on('ready', onReady);
  const timer = setInterval(tryRefresh, options.pollMs ?? 1_000);
  timer.unref();
  if (commands.status === 'ready') await tryRefresh();
  await firstSync;
  return {
    tags,
    refresh,
    async close() {
      closed = true;
      clearInterval(timer);
      commands.off('ready', onReady);
      await Promise.all(subscriptions.map((s) => s.close()));
    },
  };
}
