import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { tally, type LiveEvent } from '@livetally/events';
import {
  BatchPlanner,
  EventDeduplicator,
  LiveStateReader,
  LiveStateStore,
  MinuteWindowCache,
  RedisCounterStore,
  partitionTag,
  subscribeToChanges,
} from '@livetally/live-state';
import { liveEvent } from './support/live-writes';
import { startRedisCluster, type DedicatedRedisCluster } from './support/redis-cluster';
import { waitFor } from './support/stack';

/**
 * Where LiveTally stands on a Redis Cluster (issue 12, ADR 0003): a throwaway cluster of
 * three masters and three replicas (the layout of `LT_REDIS=cluster bash infra/stack.sh up`).
 */
let cluster: DedicatedRedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.remove();
});

describe('Redis Cluster', () => {
  // ADR 0003: every script of the hot path touches one partition's keys (tag {<topic>/<p>}),
  // so the apply runs on a cluster; readers sum the partitions' shares across slots.
  it(
    'applies partition batches on a Redis Cluster, each in its slot, and reads every figure summed over partitions',
    { timeout: 30_000 },
    async () => {
      const prefix = `ltc${randomBytes(4).toString('hex')}`;
      const topic = 'livetally.events';
      const client = cluster.client();
      try {
        const store = new RedisCounterStore(client, { prefix });
        const live = new LiveStateStore(client, { prefix });
        const dedup = new EventDeduplicator(client, { prefix, windowSeconds: 600, bucketsPerHour: 64 });
        // Two partitions whose keys hash to different masters.
        const masterOfPartition = async (p: number) => cluster.masterOf(store.keys.offsets(partitionTag(topic, p)));
        const first = 0;
        let second = 1;
        while ((await masterOfPartition(second)) === (await masterOfPartition(first))) second++;
        // And one on the first's master in another slot: a read's pipeline to that master spans two slots.
        let third = second + 1;
        while ((await masterOfPartition(third)) !== (await masterOfPartition(first))) third++;
        const now = Date.now();
        const batches = new Map<number, LiveEvent[]>([
          [
            first,
            [
              liveEvent('view', now, { viewerId: 'v-1', city: 'Shenzhen' }),
              liveEvent('sale', now, { city: 'Shenzhen', amountFen: 500 }),
              liveEvent('view', now - 60_000, { viewerId: 'v-2', city: 'Beijing', hostId: 'h-2' }),
            ],
          ],
          [
            second,
            [
              liveEvent('view', now, { viewerId: 'v-1', city: 'Beijing', hostId: 'h-3' }),
              liveEvent('sale', now, { city: 'Beijing', amountFen: 700, hostId: 'h-3' }),
              liveEvent('view', now, { viewerId: 'v-3', city: 'Beijing', hostId: 'h-3' }),
            ],
          ],
          [third, [liveEvent('view', now, { viewerId: 'v-1', city: 'Shenzhen' })]],
        ]);
        // The gateway's change feed: one sharded channel per registered partition, found in the registry.
        const changed: [string, string[]][] = [];
        const subscriber = new Cluster(
          cluster.nodesList.split(',').map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
          { shardedSubscribers: true, redisOptions: { maxRetriesPerRequest: 2 } },
        );
        subscriber.on('error', () => undefined);
        const feed = await subscribeToChanges({
          subscriber,
          commands: client,
          prefix,
          onChanged: (scopes, tag) => changed.push([tag, scopes]),
          pollMs: 100,
        });
        for (const [partition, events] of batches) {
          expect(await live.markReady(topic, partition, true)).toBe('initialized');
          const { gen } = await store.takePartition(topic, partition, 0);
          await feed.refresh(); // as the poll would
          // The fenced resend claim runs in the partition's slot too; a resend (same event, later offset) is refused.
          const claims = events.map((e, i) => ({ ...e, topic, partition, offset: String(i) }));
          const fence = { topic, partition, ownerGen: gen, expectedOffset: '-1' };
          expect(await dedup.claim([...claims, { ...claims[0]!, offset: '3' }], fence)).toEqual([
            ...events.map(() => true),
            false,
          ]);
          const planner = new BatchPlanner({ now });
          for (const e of events) planner.add(e);
          const outcome = await store.applyBatch({
            topic,
            partition,
            ownerGen: gen,
            expectedOffset: '-1',
            newOffset: String(events.length - 1),
            deltas: planner.deltas(),
            live: planner.encodeLive(store.partitionKeys(topic, partition)),
          });
          expect(outcome).toEqual({ applied: true });
          expect(await store.markDurable(topic, partition, gen, String(events.length - 1))).toBe(true);
        }
        // The shares of one scope sit in different slots (so on different masters here).
        const slots = await Promise.all(
          [first, second].map((p) => client.cluster('KEYSLOT', store.keys.totals(partitionTag(topic, p), 'all'))),
        );
        expect(slots[0]).not.toBe(slots[1]);
        expect(await live.status()).toBe('ready');
        expect(await store.appliedOffsets(topic)).toEqual(
          new Map([
            [first, '2'],
            [second, '2'],
            [third, '0'],
          ]),
        );

        const all = tally([...batches.values()].flat());
        const totals = await store.readTotals(['all', 'city:Beijing', 'city:Shenzhen']);
        for (const scope of ['all', 'city:Beijing', 'city:Shenzhen']) expect(totals.get(scope)).toEqual(all.get(scope));

        const reader = new LiveStateReader(client, prefix);
        const measures = (await reader.measures(['all'])).get('all')!;
        expect(measures).toMatchObject({ ...all.get('all'), uniqueViewers: 3, activeHosts: 3 });
        const series = (await reader.series(['all'], now, 3)).get('all')!;
        expect(series.map((p) => p.views)).toEqual([0, 1, 4]);
        expect(await reader.ranking('all', 'city', 'views')).toEqual({
          top: [
            { name: 'Beijing', value: 3 },
            { name: 'Shenzhen', value: 2 },
          ],
          members: 2,
        });
        const cache = new MinuteWindowCache(client, prefix);
        expect((await cache.points(new Map([['all', 3]]), now)).get('all')).toEqual(series);
        // Each apply SPUBLISHed its scopes on its partition's channel, in its slot.
        await waitFor('every change message', async () => changed.length >= 3, 5_000, 50);
        expect(changed.map(([tag, scopes]) => [tag, scopes.includes('all')]).sort()).toEqual(
          [first, second, third].map((p) => [partitionTag(topic, p), true]).sort(),
        );
        await feed.close();
        subscriber.disconnect();
      } finally {
        client.disconnect();
      }
    },
  );

  it('fails a SIGKILLed master over to its replica and serves every key it held', { timeout: 60_000 }, async () => {
    const client = cluster.client();
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `failover:{k${i}}`);
      await Promise.all(keys.map((k, i) => client.set(k, String(i))));
      await cluster.waitUntilOk(); // replicas level with their masters: nothing in flight
      const victim = await cluster.masterOf(keys[0]!);
      const mastersBefore = await cluster.masters();

      await victim.stop('SIGKILL');
      await cluster.waitUntilOk(30_000);

      const mastersAfter = await cluster.masters();
      expect(mastersAfter).toHaveLength(3);
      const promoted = mastersAfter.filter((m) => !mastersBefore.includes(m));
      expect(promoted).toHaveLength(1);
      expect(await cluster.masterOf(keys[0]!)).toBe(promoted[0]);
      // Every key, those of the failed master's slots included, through the cluster client.
      const values = await waitFor(
        'the cluster client to follow the new master',
        async () => {
          const read = await Promise.all(keys.map((k) => client.get(k)));
          return read.every((v) => v !== null) ? read : null;
        },
        20_000,
      );
      expect(values).toEqual(keys.map((_, i) => String(i)));
      await client.set(keys[0]!, 'after failover');
      expect(await client.get(keys[0]!)).toBe('after failover');

      // The old master comes back as a replica of the one that took over.
      await victim.start();
      await cluster.waitUntilOk(30_000);
      expect(await cluster.masters()).not.toContain(victim);
    } finally {
      client.disconnect();
    }
  });
});
