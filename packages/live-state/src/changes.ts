import type { Redis } from 'ioredis';

export interface ChangeSubscription {
  close(): Promise<void>;
}

/**
 * Listens for the scopes each applied batch changed. Takes its own connection:
 * a subscribed Redis connection cannot run other commands.
 */
export async function subscribeToChanges(
  subscriber: Redis,
  channel: string,
  onChanged: (scopes: string[]) => void,
  onError: (err: Error) => void = () => {},
): Promise<ChangeSubscription> {
  subscriber.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    try {
      const scopes = JSON.parse(message) as unknown;
      if (Array.isArray(scopes)) onChanged(scopes.filter((s): s is string => typeof s === 'string'));
    } catch (err) {
      onError(err as Error);
    }
  });
  await subscriber.subscribe(channel);
  return {
    async close() {
      await subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
