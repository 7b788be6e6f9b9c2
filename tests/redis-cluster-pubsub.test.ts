import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeSharded, type ShardedSubscription } from '@livetally/live-state';
import { startRedis } from './support/dedicated';
import { startRedisCluster, type DedicatedRedisCluster } from './support/redis-cluster';
import { uniqueName, waitFor } from './support/stack';

/**
 * Change notifications on a Redis Cluster (ADR 0003): one shard channel per partition,
 * SPUBLISHed by the apply's script in the partition's slot and SSUBSCRIBEd by every gateway,
 * across a master failover; and the same subscription on one Redis across a restart.
 */
let cluster: DedicatedRedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.remove();
});

function shardedClient(): Cluster {
  return new Cluster(
    cluster.nodesList.split(',').map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
    {
      shardedSubscribers: true,
      redisOptions: { maxRetriesPerRequest: 2 },
      clusterRetryStrategy: (times) => Math.min(100 * times, 1_000),
    },
  );
}

/** The apply's way to publish: a script on the partition's slot (EVALSHA, EVAL on NOSCRIPT). */
const PUBLISH_IN_SLOT = `
redis.call('INCR', KEYS[1])
return redis.call('SPUBLISH', ARGV[1], ARGV[2])`;

interface ScriptClient {
  ltTestPublish(key: string, channel: string, message: string): Promise<number>;
}

/** The channel of each of partitions 0…11 until every master serves one. */
async function channelsOnEveryMaster(prefix: string) {
  const byMaster = new Map<number, number>();
  for (let p = 0; p < 12 && byMaster.size < 3; p++) {
    const port = (await cluster.masterOf(`${prefix}:changed:{livetally.events/${p}}`)).port;
    if (!byMaster.has(port)) byMaster.set(port, p);
  }
  expect(byMaster.size).toBe(3);
  return [...byMaster.values()].map((p) => ({
    channel: `${prefix}:changed:{livetally.events/${p}}`,
    data: `${prefix}:off:{livetally.events/${p}}`,
  }));
}

describe('sharded pub/sub on a Redis Cluster', () => {
  it('needs a Cluster client with shardedSubscribers: the default one never answers SSUBSCRIBE for other masters', async () => {
    const prefix = uniqueName('ltp');
    const shards = await channelsOnEveryMaster(prefix);
    const plain = cluster.client();
    plain.on('error', () => undefined);
    try {
      const outcomes = await Promise.all(
        shards.map(({ channel }) =>
          Promise.race([
            plain.ssubscribe(channel).then(
              () => 'subscribed',
              (err: Error) => `refused: ${err.message}`,
            ),
            new Promise((resolve) => setTimeout(() => resolve('no answer'), 2_000)),
          ]),
        ),
      );
      // It never answers for the channels of the masters its one subscriber connection is not on.
      expect(outcomes.filter((o) => o === 'no answer').length).toBeGreaterThanOrEqual(2);
      expect(outcomes.every((o) => o === 'no answer' || o === 'subscribed')).toBe(true);
      await expect(
        subscribeSharded(cluster.client(), [shards[0]!.channel], { onMessage() {}, onResubscribed() {} }),
      ).rejects.toThrow(/shardedSubscribers: true/);
    } finally {
      plain.disconnect();
    }
  });

  it('a script may SPUBLISH to a channel of its own slot only', async () => {
    const prefix = uniqueName('ltp');
    const [a, b] = await channelsOnEveryMaster(prefix);
    const publisher = cluster.client();
    publisher.defineCommand('ltTestPublish', { numberOfKeys: 1, lua: PUBLISH_IN_SLOT });
    const scripts = publisher as unknown as ScriptClient;
    try {
      expect(await scripts.ltTestPublish(a!.data, a!.channel, 'same slot')).toBe(0);
      await expect(scripts.ltTestPublish(a!.data, b!.channel, 'other slot')).rejects.toThrow(/non local key/);
    } finally {
      publisher.disconnect();
    }
  });

  it('keeps a subscription on a failed-over master and says when it is live again', { timeout: 60_000 }, async () => {
    const prefix = uniqueName('ltp');
    const shards = await channelsOnEveryMaster(prefix);
    const channels = shards.map((s) => s.channel);
    const publisher = cluster.client();
    publisher.defineCommand('ltTestPublish', { numberOfKeys: 1, lua: PUBLISH_IN_SLOT });
    const scripts = publisher as unknown as ScriptClient;
    const wrapped = shardedClient();
    const bare = shardedClient(); // ioredis alone, to record what it does without the wrapper
    const received = { wrapped: [] as string[], bare: [] as string[] };
    const resubscribedAt: number[] = [];
    let errors = 0;
    bare.on('error', () => errors++);
    bare.on('smessage', (channel: string, message: string) => received.bare.push(`${channel} ${message}`));
    let subscription: ShardedSubscription | undefined;
    try {
      subscription = await subscribeSharded(wrapped, channels, {
        onMessage: (channel, message) => received.wrapped.push(`${channel} ${message}`),
        onResubscribed: () => resubscribedAt.push(Date.now()),
        onError: () => undefined,
      });
      await Promise.all(channels.map((channel) => bare.ssubscribe(channel)));

      for (const { channel, data } of shards) {
        expect(await publisher.spublish(channel, 'plain')).toBe(2);
        expect(await scripts.ltTestPublish(data, channel, 'from script')).toBe(2);
      }
      const before = channels.flatMap((channel) => [`${channel} plain`, `${channel} from script`]);
      await waitFor(
        'every message on both subscribers',
        async () => received.wrapped.length === 6 && received.bare.length === 6,
        5_000,
        20,
      );
      expect(received.wrapped.sort()).toEqual([...before].sort());
      expect(received.bare.sort()).toEqual([...before].sort());
      expect(subscription.resubscriptions).toBe(0);

      const [victimShard] = shards;
      const victim = await cluster.masterOf(victimShard!.channel);
      const killedAt = Date.now();
      await victim.stop('SIGKILL');
      await cluster.waitUntilOk(30_000);
      const promotedAt = Date.now();
      expect(await cluster.masterOf(victimShard!.channel)).not.toBe(victim);

      // The wrapper says when every channel is subscribed again; a message published after that arrives.
      await waitFor('the wrapper to re-subscribe', async () => resubscribedAt.length > 0, 20_000, 50);
      received.wrapped.length = 0;
      await waitFor(
        'the publisher to reach the promoted master',
        async () => (await scripts.ltTestPublish(victimShard!.data, victimShard!.channel, 'after failover')) >= 1,
        20_000,
        100,
      );
      await waitFor('the message after the failover', async () => received.wrapped.length > 0, 5_000, 20);
      expect(received.wrapped).toEqual([`${victimShard!.channel} after failover`]);

      // ioredis alone follows the failover too (its subscriber per master is re-created and re-subscribed).
      const bareFrom = received.bare.length;
      let published = 0;
      await waitFor(
        'the bare ioredis subscriber to receive on the failed-over channel',
        async () => {
          await publisher.spublish(victimShard!.channel, `bare ${published++}`);
          return received.bare.slice(bareFrom).some((m) => m.startsWith(`${victimShard!.channel} bare`));
        },
        20_000,
        100,
      );
      // The surviving masters' channels still deliver, to both.
      for (const { channel } of shards.slice(1)) expect(await publisher.spublish(channel, 'survivor')).toBe(2);
      await waitFor(
        'the survivors’ messages',
        async () => received.bare.filter((m) => m.endsWith(' survivor')).length === 2,
        5_000,
        20,
      );
      await waitFor(
        'the survivors’ messages (wrapped)',
        async () => received.wrapped.filter((m) => m.endsWith(' survivor')).length === 2,
        5_000,
        20,
      );

      console.log(
        `sharded pub/sub failover: replica promoted ${promotedAt - killedAt} ms after the SIGKILL, ` +
          `wrapper re-subscribed ${resubscribedAt[0]! - killedAt} ms after it (${subscription.resubscriptions} time(s)); ` +
          `bare ioredis: ${errors} 'error' events during the failover`,
      );
      expect(subscription.resubscriptions).toBeGreaterThanOrEqual(1);
    } finally {
      await subscription?.close();
      wrapped.disconnect();
      bare.disconnect();
      publisher.disconnect();
    }
  });
});

describe('sharded pub/sub on one Redis', () => {
  it('keeps the subscription across a Redis restart and says when it is live again', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const subscriber = new Redis(redis.url, { retryStrategy: () => 100 });
    const publisher = new Redis(redis.url, { retryStrategy: () => 100 });
    publisher.on('error', () => undefined);
    const channels = ['lt:changed:{livetally.events/0}', 'lt:changed:{livetally.events/1}'];
    const received: string[] = [];
    let resubscribed = 0;
    let subscription: ShardedSubscription | undefined;
    try {
      subscription = await subscribeSharded(subscriber, channels, {
        onMessage: (channel, message) => received.push(`${channel} ${message}`),
        onResubscribed: () => resubscribed++,
        onError: () => undefined,
      });
      for (const channel of channels) expect(await publisher.spublish(channel, 'before')).toBe(1);
      await waitFor('both messages', async () => received.length === 2, 5_000, 20);

      await redis.stop('SIGKILL');
      await redis.start();
      await waitFor('the wrapper to re-subscribe', async () => resubscribed > 0, 20_000, 50);
      received.length = 0;
      for (const channel of channels) expect(await publisher.spublish(channel, 'after restart')).toBe(1);
      await waitFor('both messages after the restart', async () => received.length === 2, 5_000, 20);
      expect(received.sort()).toEqual(channels.map((channel) => `${channel} after restart`));
    } finally {
      await subscription?.close();
      subscriber.disconnect();
      publisher.disconnect();
      await redis.remove();
    }
  });
});
