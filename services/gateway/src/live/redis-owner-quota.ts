import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { OwnerQuota, QuotaVerdict } from './owner-quota';

export interface RedisOwnerQuotaOptions {
  /** A command connection that fails fast while Redis is away (the gateway's). */
  redis: Redis;
  /** Each owner's hash is `<keyPrefix>:<owner>`, e.g. "lt:ws:subs:screen-wall". */
  keyPrefix: string;
  /** Subscriptions per owner over every gateway (WS_MAX_SUBSCRIPTIONS_PER_TOKEN). */
  max: number;
  /** A gateway's share counts this long after its last refresh (WS_SUBSCRIPTION_SHARE_TTL_MS). */
  ttlMs: number;
  /** Longest a take waits for Redis before answering 'unavailable'. */
  timeoutMs?: number;
  /** A give or refresh that Redis did not take; the next refresh writes the count again. */
  onWriteError?(err: unknown): void;
}

const NO_CAP = -1;
const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * One owner's hash holds one field per gateway: "<count>:<deadline ms>". A take sums the
 * other gateways' live shares (dropping shares past their deadline, i.e. of gateways that
 * died without giving back) and writes this gateway's new count only if the sum stays
 * within the cap; a give or refresh writes the count without a check. Deadlines use
 * Redis's clock, so the gateways' clocks do not matter.
 */
const WRITE_SHARE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local count, cap, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if cap >= 0 then
  local others = 0
  local entries = redis.call('HGETALL', KEYS[1])
  for i = 1, #entries, 2 do
    if entries[i] ~= ARGV[1] then
      local n, deadline = string.match(entries[i + 1], '^(%d+):(%d+)$')
      if n and tonumber(deadline) > now then others = others + tonumber(n)
      else redis.call('HDEL', KEYS[1], entries[i]) end
    end
  end
  if others + count > cap then return 0 end
end
if count > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d:%d', count, now + ttl))
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1`;

/**
 * Counts each token subject's live subscriptions over every gateway sharing the Redis
 * key prefix, so that a client spreading its connections over N gateways still gets one
 * WS_MAX_SUBSCRIPTIONS_PER_TOKEN. This process's counts live in memory and are mirrored
 * into its field of the owner's hash; a refresh every third of the TTL keeps the field
 * alive (and rewrites it after Redis lost it), so a gateway that dies without closing its
 * sockets has its share released one TTL later.
 *
 * Redis not answering fails closed: the take answers 'unavailable' (NOT_READY to the
 * client). The live figures come from the same Redis, so a subscription it could not
 * count could not be served either; refusing keeps the cap exact at no further cost.
 *
 * The operations of one owner run one after another (a take reads this process's count
 * and writes it plus one); different owners do not wait for each other.
 */
export class RedisOwnerQuota implements OwnerQuota {
  readonly max: number;
  /** This process's field in the owners' hashes. */
  readonly instance = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly counts = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RedisOwnerQuotaOptions) {
    this.max = options.max;
    options.redis.defineCommand('ltWriteSubscriptionShare', { lua: WRITE_SHARE, numberOfKeys: 1 });
  }

  /** Starts refreshing this process's shares. */
  start(): void {
    this.timer ??= setInterval(() => this.refresh(), Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  take(owner: string): Promise<QuotaVerdict> {
    if (this.closed) return Promise.resolve('unavailable');
    let abandoned = false;
    const job = this.enqueue(owner, async (): Promise<QuotaVerdict> => {
      if (abandoned) return 'unavailable'; // timed out while queued: nothing to write
      const mine = this.counts.get(owner) ?? 0;
      if (mine >= this.max) return 'full';
      if (!(await this.write(owner, mine + 1, this.max))) return 'full';
      if (abandoned) {
        // The client was told 'unavailable': write back what this process really holds.
        this.sync(owner);
        return 'unavailable';
      }
      this.counts.set(owner, (this.counts.get(owner) ?? 0) + 1);
      return 'ok';
    });
    return within(job, this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => (abandoned = true)).catch(
      () => 'unavailable' as const,
    );
  }

  give(owner: string): void {
    const left = (this.counts.get(owner) ?? 1) - 1;
    if (left > 0) this.counts.set(owner, left);
    else this.counts.delete(owner);
    this.sync(owner);
  }

  /** This process's count for `owner` (what its field in Redis should say). */
  countOf(owner: string): number {
    return this.counts.get(owner) ?? 0;
  }

  /** Stops refreshing and removes this process's shares (call once its sockets are closed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.queues.values()]);
    await Promise.allSettled([...this.counts.keys()].map((owner) => this.write(owner, 0, NO_CAP)));
  }

  private refresh(): void {
    for (const owner of this.counts.keys()) this.sync(owner);
  }

  /** Writes this process's current count for `owner`, after whatever is queued for it. */
  private sync(owner: string): void {
    if (this.closed) return;
    this.enqueue(owner, () => this.write(owner, this.counts.get(owner) ?? 0, NO_CAP)).catch((err: unknown) =>
      this.options.onWriteError?.(err),
    );
  }

  private async write(owner: string, count: number, cap: number): Promise<boolean> {
    const { redis, keyPrefix, ttlMs } = this.options;
    const command = (redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>)
      .ltWriteSubscriptionShare!;
    return (await command.call(redis, `${keyPrefix}:${owner}`, this.instance, count, cap, ttlMs)) === 1;
  }

  private enqueue<T>(owner: string, job: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(owner) ?? Promise.resolve()).then(job, job);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(owner, settled);
    void settled.then(() => {
      if (this.queues.get(owner) === settled) this.queues.delete(owner);
    });
    return run;
  }
}

/** Settles like `promise`, or rejects after `ms` (calling `onTimeout` first). */
function within<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`no answer from Redis within ${ms} ms`));
    }, ms);
    timer.unref();
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (err: unknown) => (clearTimeout(timer), reject(err)),
    );
  });
}
