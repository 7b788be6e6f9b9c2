import { ReplyError, type Redis } from 'ioredis';

/**
 * Redis holds live state ingest cannot lose silently: totals, the minute buckets and
 * resend keys (both with a TTL), HyperLogLogs, applied offsets. Under any eviction
 * policy but noeviction, Redis at maxmemory deletes keys on its own — the volatile-*
 * policies pick exactly the TTL'd buckets and resend keys — and figures go wrong with
 * no error anywhere. With noeviction a full Redis refuses writes instead; batches then
 * fail, are retried and nothing is counted twice or lost.
 */
export const SAFE_EVICTION_POLICY = 'noeviction';

/** The server's maxmemory-policy: CONFIG GET, else INFO memory (CONFIG is often disabled on managed Redis); undefined when Redis refuses both. */
export async function readEvictionPolicy(redis: Pick<Redis, 'config' | 'info'>): Promise<string | undefined> {
  const reply = await redis.config('GET', 'maxmemory-policy').catch(whenRefused(undefined));
  if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  const info = await redis.info('memory').catch(whenRefused(''));
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

/** Why ingest must not start on this policy; undefined when it is safe. */
export function evictionPolicyProblem(policy: string | undefined): string | undefined {
  if (policy === SAFE_EVICTION_POLICY) return undefined;
  const found = policy === undefined ? 'could not be read (CONFIG GET and INFO memory were refused)' : `is ${policy}`;
  return (
    `Redis maxmemory-policy ${found}; ingest needs ${SAFE_EVICTION_POLICY}, because any other policy lets Redis delete live state ` +
    `(volatile-* evicts the per-minute buckets and resend keys, allkeys-* anything) and the figures would silently go wrong. ` +
    `Set maxmemory-policy ${SAFE_EVICTION_POLICY} (redis.conf or redis-server --maxmemory-policy ${SAFE_EVICTION_POLICY}; ` +
    `at runtime: redis-cli CONFIG SET maxmemory-policy ${SAFE_EVICTION_POLICY}; on a managed Redis: its parameter group), then start ingest again.`
  );
}

/** Reads the policy and judges it; connection errors propagate, so callers retry them. */
export async function checkEvictionPolicy(redis: Pick<Redis, 'config' | 'info'>): Promise<string | undefined> {
  return evictionPolicyProblem(await readEvictionPolicy(redis));
}

// Redis answered with an error (command disabled, renamed or denied by ACL): try the next way.
function whenRefused<T>(value: T): (err: unknown) => T {
  return (err) => {
    if (err instanceof ReplyError) return value;
    throw err;
  };
}
