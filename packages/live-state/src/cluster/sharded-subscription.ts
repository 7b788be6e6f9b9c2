import type { Cluster } from 'ioredis';
import type { AnyRedis } from './redis-client';

export interface ShardedSubscriptionHandlers {
  onMessage(channel: string, message: string): void;
  /**
   * Every channel is subscribed again after a connection serving some of them was lost (a
   * master failed over, a Redis restarted). Pub/sub is at-most-once: what was published in
   * between is lost, so the caller re-reads everything it watches.
   */
  onResubscribed(): void;
  /** Connection errors while it recovers, and a recovery that gave up (see maxAttempts). */
  onError?(err: Error): void;
}

export interface ShardedSubscriptionOptions {
  /** The first pause before re-subscribing; it doubles up to maxDelayMs on each failed attempt. */
  retryDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts of one recovery before it gives up and reports it (the next loss starts another). */
  maxAttempts?: number;
  /** How long one SSUBSCRIBE may take before the attempt counts as failed. */
  attemptTimeoutMs?: number;
}

export interface ShardedSubscription {
  /** How many times every channel was confirmed subscribed again. */
  readonly resubscriptions: number;
  close(): Promise<void>;
}

/** A Cluster client says so; a Redis client has no such flag. */
function isCluster(client: AnyRedis): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/**
 * SSUBSCRIBEs to shard channels (ADR 0003: one per partition, published by the apply in its
 * slot), on a Redis Cluster or on one Redis. The client should be for subscriptions only: on
 * one Redis, SSUBSCRIBE takes the connection into subscriber mode. A Cluster client must be
 * created with `shardedSubscribers: true` (one subscriber connection per master, which
 * ioredis moves to the new master after a failover).
 *
 * ioredis re-subscribes by itself but does not say when the subscription is live again. So on
 * any sign of a lost connection this SSUBSCRIBEs every channel again and awaits the replies
 * (retrying with a growing pause), then calls onResubscribed: a change published after that
 * reaches the caller, and one published before is found by the caller's re-read.
 */
export async function subscribeSharded(
  client: AnyRedis,
  channels: readonly string[],
  handlers: ShardedSubscriptionHandlers,
  options: ShardedSubscriptionOptions = {},
): Promise<ShardedSubscription> {
  if (isCluster(client) && !client.options.shardedSubscribers)
    throw new Error('subscribeSharded needs a Cluster client created with shardedSubscribers: true');
  const { retryDelayMs = 100, maxDelayMs = 1_000, maxAttempts = 120, attemptTimeoutMs = 2_000 } = options;
  const watched = new Set(channels);
  let closed = false;
  let recovering = false;
  let lostAgain = false;
  let resubscriptions = 0;

  // One channel per command: a command's channels must share a slot, and this needs no slot map.
  const subscribeAll = () =>
    Promise.all(channels.map((channel) => withTimeout(client.ssubscribe(channel), attemptTimeoutMs)));

  const recover = async () => {
    recovering = true;
    try {
      for (let attempt = 1, pause = retryDelayMs; attempt <= maxAttempts && !closed; attempt++) {
        lostAgain = false;
        await sleep(pause);
        pause = Math.min(pause * 2, maxDelayMs);
        const confirmed = await subscribeAll().then(
          () => true,
          () => false,
        );
        // A loss reported while the attempt ran may concern the connection it just used.
        if (closed || (confirmed && !lostAgain)) {
          if (!closed) {
            resubscriptions++;
            handlers.onResubscribed();
          }
          return;
        }
      }
      if (!closed) handlers.onError?.(new Error(`sharded subscription not restored after ${maxAttempts} attempts`));
    } finally {
      recovering = false;
    }
  };

  const lost = () => {
    if (closed) return;
    if (recovering) lostAgain = true;
    else void recover();
  };
  const onMessage = (channel: string, message: string) => {
    if (watched.has(channel)) handlers.onMessage(channel, message);
  };
  const onError = (err: Error) => {
    handlers.onError?.(err);
    lost();
  };
  const lossEvents = isCluster(client) ? ['-node', 'nodeError', '-subscriber'] : ['close'];

  client.on('smessage', onMessage);
  client.on('error', onError);
  for (const event of lossEvents) client.on(event, lost);
  try {
    await subscribeAll();
  } catch (err) {
    closed = true;
    detach();
    throw err;
  }

  function detach() {
    client.off('smessage', onMessage);
    client.off('error', onError);
    for (const event of lossEvents) client.off(event, lost);
  }

  return {
    get resubscriptions() {
      return resubscriptions;
    },
    async close() {
      closed = true;
      detach();
      await Promise.all(channels.map((channel) => client.sunsubscribe(channel).catch(() => undefined)));
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
