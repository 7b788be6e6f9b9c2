import type { Redis } from 'ioredis';

/**
 * The change message: the scopes one write changed, as a JSON array of strings, published
 * on KeySpace.changesChannel by the batch apply, the campaign swap and a rebuild, and read
 * by every gateway. Encoded and decoded only here.
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
      const scopes = decodeChangedScopes(message);
      if (scopes) onChanged(scopes);
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
