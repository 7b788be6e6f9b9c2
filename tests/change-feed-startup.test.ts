import { afterEach, describe, expect, it } from 'vitest';
import { createRedisClient, keySpace, subscribeToChanges, type AnyRedis } from '@livetally/live-state';
import { STACK, uniqueName } from './support/stack';

/**
 * The gateway subscribes to the change feed at start, while its command connection (no
 * offline queue, so commands fail fast) is still connecting. The partition registry is read
 * once that connection is ready; a start-up must not report "unreadable partition registry"
 * (a warning in every gateway's log at every start, on a healthy Redis).
 */
describe('change feed: start-up', () => {
  const clients: AnyRedis[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  });

  it('reads the registry once the command connection is ready, with no error on a healthy Redis', async () => {
    const prefix = uniqueName('chfs');
    const tag = `lt.${prefix}/0`;
    const seed = createRedisClient({ url: STACK.redisUrl }, { onError: () => {} });
    clients.push(seed);
    await seed.sadd(keySpace(prefix).partitions, tag);

    const commands = createRedisClient(
      { url: STACK.redisUrl },
      { redis: { maxRetriesPerRequest: 1, enableOfflineQueue: false }, onError: () => {} },
    );
    const subscriber = createRedisClient(
      { url: STACK.redisUrl },
      { role: 'subscriber', redis: { maxRetriesPerRequest: null }, onError: () => {} },
    );
    clients.push(commands, subscriber);
    const errors: Error[] = [];
    const subscription = await subscribeToChanges({
      subscriber,
      commands,
      prefix,
      onChanged: () => {},
      onError: (err) => errors.push(err),
    });
    try {
      expect([...subscription.tags]).toEqual([tag]);
      expect(errors.map((e) => e.message)).toEqual([]);
    } finally {
      await subscription.close();
      await seed.del(keySpace(prefix).partitions);
    }
  });
});
