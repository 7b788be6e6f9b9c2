import type { Redis } from 'ioredis';
import { keySpace } from './keys';

/**
 * Platform resends of the same event (same platform, eventId and event time) count
 * once within a window. Claims are idempotent for the message that made them: the
 * claim records its Kafka position, so a replay of that message after a crash is
 * recognised as the original, not as a duplicate.
 *
 * Memory: fingerprints live in small Redis hashes (listpack encoding) bucketed by
 * event hour and by hash, about 24 bytes per event (tests/dedup.test.ts measures it).
 */
// Arguments come packed, so a batch is four arguments rather than three per event:
// ARGV[2] the 12-byte fingerprints back to back, ARGV[3] a JSON array of owner
// (a string: Lua would print a large number inexactly), KEYS index pairs.
const UNPACK = `
local window = tonumber(ARGV[1])
local fields, entries = ARGV[2], cjson.decode(ARGV[3])
local n = #fields / 12
local function entry(i)
  return KEYS[entries[i * 2 + 2]], string.sub(fields, i * 12 + 1, i * 12 + 12), entries[i * 2 + 1]
end
`;

// Fenced (ARGV[4..6] given, KEYS[#KEYS] the topic's offsets hash): only the partition's
// owner (generation ARGV[5]) whose applied offset (ARGV[6]) is still Redis's may claim, as
// for the apply. A claim decides which copy of an event counts; after Redis restarts from
// an older snapshot a worker still ahead of it would otherwise claim resends before the
// partition's next owner reads their originals again, and the originals (whose rows
// ClickHouse already holds) would turn into duplicates.
const CLAIM_EVENTS = `${UNPACK}
local buckets = #KEYS
if ARGV[4] then
  buckets = buckets - 1
  if redis.call('HGET', KEYS[#KEYS], 'gen:' .. ARGV[4]) ~= ARGV[5] then return false end
  if (redis.call('HGET', KEYS[#KEYS], ARGV[4]) or '-1') ~= ARGV[6] then return false end
end
local out = {}
for i = 0, n - 1 do
  local key, field, owner = entry(i)
  if redis.call('HSETNX', key, field, owner) == 1 then
    out[i + 1] = 1
  elseif redis.call('HGET', key, field) == owner then
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
for i = 1, buckets do redis.call('EXPIRE', KEYS[i], window) end
return out
`;

// Rebuild: the stored rows are the truth about which message of an event counted, so
// their claims overwrite whatever a resend may have claimed while Redis had no state.
const RESTORE_CLAIMS = `${UNPACK}
for i = 0, n - 1 do
  local key, field, owner = entry(i)
  redis.call('HSET', key, field, owner)
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

/** The batch's partition, its owner generation and the applied offset the owner read (see CLAIM_EVENTS). */
export interface ClaimFence {
  topic: string;
  partition: number;
  ownerGen: number;
  expectedOffset: string;
}

export interface DedupOptions {
  prefix?: string;
  /** How long after its last write a bucket (and so a fingerprint) is kept. */
  windowSeconds: number;
  /** Buckets per event hour; size it so a bucket stays under ~100 fingerprints at peak. */
  bucketsPerHour: number;
}

const HOUR_MS = 3_600_000;

const FIELD_BYTES = 12;

// SHA-1 (FIPS 180-4) of a short string's UTF-8 bytes, in JavaScript: node:crypto
// costs several microseconds per call for inputs this small (OpenSSL's per-digest
// setup), this a fraction of one. The digest is SHA-1's, bit for bit, so fingerprints
// stay what they were (dedup.test.ts compares it with node:crypto).
const W = new Int32Array(80);
const DIGEST = new Int32Array(5);
let scratch = new Uint8Array(512);

/** SHA-1 of the UTF-8 bytes of `text`: h0..h4 in DIGEST (as int32). */
export function sha1Words(text: string): Int32Array {
  let n = text.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  let encoded: Buffer | undefined;
  if (!ascii) {
    encoded = Buffer.from(text, 'utf8');
    n = encoded.length;
  }
  const length = (((n + 8) >>> 6) + 1) * 64;
  if (scratch.length < length) scratch = new Uint8Array(length * 2);
  const m = scratch;
  if (encoded) m.set(encoded, 0);
  else for (let i = 0; i < n; i++) m[i] = text.charCodeAt(i);
  m.fill(0, n, length);
  m[n] = 0x80;
  const bits = n * 8;
  m[length - 4] = bits >>> 24;
  m[length - 3] = (bits >>> 16) & 0xff;
  m[length - 2] = (bits >>> 8) & 0xff;
  m[length - 1] = bits & 0xff;

  let h0 = 0x67452301;
  let h1 = 0xefcdab89 | 0;
  let h2 = 0x98badcfe | 0;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  for (let o = 0; o < length; o += 64) {
    for (let t = 0; t < 16; t++) {
      const i = o + t * 4;
      W[t] = (m[i]! << 24) | (m[i + 1]! << 16) | (m[i + 2]! << 8) | m[i + 3]!;
    }
    for (let t = 16; t < 80; t++) {
      const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
      W[t] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let t = 0;
    for (; t < 20; t++) {
      const next = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + W[t]! + 0x5a827999) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    for (; t < 40; t++) {
      const next = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + W[t]! + 0x6ed9eba1) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    for (; t < 60; t++) {
      const next = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + W[t]! - 0x70e44324) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    for (; t < 80; t++) {
      const next = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + W[t]! - 0x359d3e2a) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  DIGEST[0] = h0;
  DIGEST[1] = h1;
  DIGEST[2] = h2;
  DIGEST[3] = h3;
  DIGEST[4] = h4;
  return DIGEST;
}

/** The fingerprint's 12 bytes (digest bytes 4..15) into `out` at `at`; returns digest bytes 0..3 as an unsigned integer. */
function fingerprintInto(platform: string, eventId: string, out: Buffer, at: number): number {
  const h = sha1Words(`${platform}\u0000${eventId}`);
  out.writeInt32BE(h[1]!, at);
  out.writeInt32BE(h[2]!, at + 4);
  out.writeInt32BE(h[3]!, at + 8);
  return h[0]! >>> 0;
}

/** Where a fingerprint lives and what it is; pure, so it is unit tested. */
export function fingerprint(
  platform: string,
  eventId: string,
  ts: number,
  bucketsPerHour: number,
): { bucket: string; field: Buffer } {
  const field = Buffer.alloc(FIELD_BYTES);
  const head = fingerprintInto(platform, eventId, field, 0);
  const hour = Math.floor(ts / HOUR_MS);
  return { bucket: `${hour}:${head % bucketsPerHour}`, field };
}

const OFFSET_BITS = 2 ** 40;

/** A Kafka position as one integer, so listpacks store it compactly. */
export function ownerOf(partition: number, offset: string): string {
  // Exact in doubles while the sum stays below 2^53; BigInt otherwise.
  const o = Number(offset);
  if (partition >= 0 && partition < 4096 && o >= 0 && o < OFFSET_BITS && Number.isInteger(o) && String(o) === offset)
    return String(partition * OFFSET_BITS + o);
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

  /** KEYS and the packed ARGV of UNPACK. */
  private claimArgs(inputs: readonly ClaimInput[]): { keys: string[]; args: (string | Buffer | number)[] } {
    const keyIndex = new Map<string, number>();
    const fields = Buffer.allocUnsafe(inputs.length * FIELD_BYTES);
    const entries: (string | number)[] = new Array(inputs.length * 2);
    const { bucketsPerHour } = this.options;
    const head = `${this.prefix}:dd:`;
    for (let i = 0; i < inputs.length; i++) {
      const e = inputs[i]!;
      const bucket = fingerprintInto(e.platform, e.eventId, fields, i * FIELD_BYTES) % bucketsPerHour;
      const key = `${head}${Math.floor(e.ts / HOUR_MS)}:${bucket}`;
      let index = keyIndex.get(key);
      if (index === undefined) keyIndex.set(key, (index = keyIndex.size + 1));
      entries[i * 2] = ownerOf(e.partition, e.offset);
      entries[i * 2 + 1] = index;
    }
    return { keys: [...keyIndex.keys()], args: [this.options.windowSeconds, fields, JSON.stringify(entries)] };
  }

  /**
   * Returns, per input, true for the first occurrence (or its own replay), false for a
   * duplicate. With a fence: null (nothing claimed) when the caller no longer owns the
   * partition or Redis's applied offset is not the one it read.
   */
  async claim(inputs: readonly ClaimInput[]): Promise<boolean[]>;
  async claim(inputs: readonly ClaimInput[], fence: ClaimFence): Promise<boolean[] | null>;
  async claim(inputs: readonly ClaimInput[], fence?: ClaimFence): Promise<boolean[] | null> {
    if (inputs.length === 0) return [];
    const { keys, args } = this.claimArgs(inputs);
    if (fence) {
      keys.push(keySpace(this.prefix).appliedOffsets(fence.topic));
      args.push(String(fence.partition), String(fence.ownerGen), fence.expectedOffset);
    }
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number[] | null>>)
      .ltClaimEvents!;
    const result = await command.call(this.redis, keys.length, keys, args);
    return result === null ? null : result.map((r) => r === 1);
  }
}
