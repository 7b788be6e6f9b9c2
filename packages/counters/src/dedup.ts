import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Platform resends of the same event (same platform, eventId and event time) count
 * once within a window. Claims are idempotent for the message that made them: the
 * claim records its Kafka position, so a replay of that message after a crash is
 * recognised as the original, not as a duplicate.
 *
 * Memory: fingerprints live in small Redis hashes (listpack encoding) bucketed by
 * event hour and by hash, about 24 bytes per event (see README for the figures).
 */
const CLAIM_EVENTS = `
local window = tonumber(ARGV[1])
local out = {}
local n = (#ARGV - 1) / 3
for i = 0, n - 1 do
  local key = KEYS[tonumber(ARGV[2 + i * 3])]
  local field = ARGV[3 + i * 3]
  local owner = ARGV[4 + i * 3]
  if redis.call('HSETNX', key, field, owner) == 1 then
    out[i + 1] = 1
  elseif redis.call('HGET', key, field) == owner then
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], window) end
return out
`;

// Rebuild: the stored rows are the truth about which message of an event counted, so
// their claims overwrite whatever a resend may have claimed while Redis had no state.
const RESTORE_CLAIMS = `
local window = tonumber(ARGV[1])
local n = (#ARGV - 1) / 3
for i = 0, n - 1 do
  redis.call('HSET', KEYS[tonumber(ARGV[2 + i * 3])], ARGV[3 + i * 3], ARGV[4 + i * 3])
end
for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], window) end
return n
`;

export interface ClaimInput {
  platform: string;
  eventId: string;
  ts: number;
  partition: number;
  offset: string;
}

export interface DedupOptions {
  prefix?: string;
  /** How long after its last write a bucket (and so a fingerprint) is kept. */
  windowSeconds: number;
  /** Buckets per event hour; size it so a bucket stays under ~100 fingerprints at peak. */
  bucketsPerHour: number;
}

const HOUR_MS = 3_600_000;

/** Where a fingerprint lives and what it is; pure, so it is unit tested. */
export function fingerprint(platform: string, eventId: string, ts: number, bucketsPerHour: number): { bucket: string; field: Buffer } {
  const h = createHash('sha1').update(platform).update('\u0000').update(eventId).digest();
  const hour = Math.floor(ts / HOUR_MS);
  return { bucket: `${hour}:${h.readUInt32BE(0) % bucketsPerHour}`, field: h.subarray(4, 16) };
}

/** A Kafka position as one integer, so listpacks store it compactly. */
export function ownerOf(partition: number, offset: string): string {
  return (BigInt(partition) * 2n ** 40n + BigInt(offset)).toString();
}

export class EventDeduplicator {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: DedupOptions,
  ) {
    this.prefix = options.prefix ?? 'lt';
    redis.defineCommand('ltClaimEvents', { lua: CLAIM_EVENTS });
    redis.defineCommand('ltRestoreClaims', { lua: RESTORE_CLAIMS });
  }

  /**
   * Rebuild only: records the claims of stored (counted) events, overwriting any
   * other owner, so resends arriving after a rebuild are still recognised.
   */
  async restore(inputs: readonly ClaimInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const { keys, args } = this.claimArgs(inputs);
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>).ltRestoreClaims!;
    await command.call(this.redis, keys.length, keys, args);
  }

  private claimArgs(inputs: readonly ClaimInput[]): { keys: string[]; args: (string | Buffer | number)[] } {
    const keyIndex = new Map<string, number>();
    const args: (string | Buffer | number)[] = [this.options.windowSeconds];
    for (const e of inputs) {
      const fp = fingerprint(e.platform, e.eventId, e.ts, this.options.bucketsPerHour);
      const key = `${this.prefix}:dd:${fp.bucket}`;
      let index = keyIndex.get(key);
      if (index === undefined) keyIndex.set(key, (index = keyIndex.size + 1));
      args.push(index, fp.field, ownerOf(e.partition, e.offset));
    }
    return { keys: [...keyIndex.keys()], args };
  }

  /** Returns, per input, true for the first occurrence (or its own replay), false for a duplicate. */
  async claim(inputs: readonly ClaimInput[]): Promise<boolean[]> {
    if (inputs.length === 0) return [];
    const { keys, args } = this.claimArgs(inputs);
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number[]>>).ltClaimEvents!;
    const result = await command.call(this.redis, keys.length, keys, args);
    return result.map((r) => r === 1);
  }
}
