import type { AnyRedis } from './cluster/redis-client';
import { DEFAULT_KEY_PREFIX, keySpace, partitionTag } from './keys';
import { sha1Words } from './sha1';

/**
 * Platform resends of the same event (same platform, eventId and event time) count
 * once within a window. Claims are idempotent for the message that made them: the
 * claim records its Kafka position, so a replay of that message after a crash is
 * recognised as the original, not as a duplicate.
 *
 * Memory: fingerprints live in Redis hashes bucketed by event hour and by hash: about
 * 26 bytes per event while a bucket stays a listpack (hash-max-listpack-entries), 75-87
 * once it is a hash table, as the default 4,096 buckets per hour are above ~470 events/s
 * (npm run bench:dedup measures it; docs/benchmarks.md has the figures).
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

// Every key of one call is one partition's (ADR 0003: tag {<topic>/<p>}, so one Redis
// Cluster slot): its fingerprint buckets `<prefix>:dd:{<topic>/<p>}:<hour>:<bucket>`, and
// when fenced its offsets hash and window marker. Events are keyed by streamId, so every
// copy of an event lands in the same partition and is found in that partition's buckets.
//
// Fenced (ARGV[4..6] given, KEYS[#KEYS - 1] the partition's offsets hash): only the partition's
// owner (generation ARGV[5]) whose applied offset (ARGV[6]) is still Redis's may claim, as
// for the apply. A claim decides which copy of an event counts; after Redis restarts from
// an older snapshot a worker still ahead of it would otherwise claim resends before the
// partition's next owner reads their originals again, and the originals (whose rows
// ClickHouse already holds) would turn into duplicates.
//
// Fenced claims also guard the window itself. KEYS[#KEYS], the window marker, lives with
// the buckets and says per partition that its fingerprints have been kept since the
// first claim; the offsets hash, with the partition's other state, keeps the time of its
// last claim (claimed:<p>). Marker gone while that time is within the window: the
// fingerprints that decide whether a resend counts were lost (deleted, or a Redis
// restored or failed over without them), so nothing is claimed and the caller learns
// it ('missing') instead of counting resends again. A marker gone after a quiet window
// lost nothing that still mattered and is written again.
const CLAIM_EVENTS = `${UNPACK}
local buckets = #KEYS
if ARGV[4] then
  buckets = buckets - 2
  local offsets, marker, p = KEYS[#KEYS - 1], KEYS[#KEYS], ARGV[4]
  if redis.call('HGET', offsets, 'gen:' .. p) ~= ARGV[5] then return false end
  if (redis.call('HGET', offsets, p) or '-1') ~= ARGV[6] then return false end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if redis.call('HEXISTS', marker, p) == 0 then
    local last = tonumber(redis.call('HGET', offsets, 'claimed:' .. p) or '0')
    if now - last < window * 1000 then return {'missing', tostring(last)} end
    redis.call('HSET', marker, p, now)
  end
  redis.call('HSET', offsets, 'claimed:' .. p, now)
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
  /** The Kafka topic and partition the event was read from: its fingerprints live in that partition's buckets. */
  topic: string;
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

/**
 * A partition claimed resends within the window, but the window's fingerprints are gone:
 * counting on would count resends of already-counted events again. Retrying does not
 * help; `npm run rebuild` restores the fingerprints from ClickHouse.
 */
export class DedupStateMissingError extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly lastClaimAt: Date,
    readonly windowSeconds: number,
  ) {
    super(
      `resend fingerprints of ${topic} partition ${partition} are missing from Redis although it claimed events at ` +
        `${lastClaimAt.toISOString()}, within the ${windowSeconds} s window (Redis restored or failed over without them, or deleted): ` +
        'ingest of this partition stops rather than count resends twice. Run `npm run rebuild` (same environment) to restore ' +
        'them from ClickHouse; see docs/operations.md, "Resend fingerprints missing"',
    );
    this.name = 'DedupStateMissingError';
  }
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
    private readonly redis: AnyRedis,
    private readonly options: DedupOptions,
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    redis.defineCommand('ltClaimEvents', { lua: CLAIM_EVENTS });
    redis.defineCommand('ltRestoreClaims', { lua: RESTORE_CLAIMS });
  }

  /** Per partition: since when its window's fingerprints are kept (see CLAIM_EVENTS; field `<p>`, in the partition's slot). */
  windowMarker(topic: string, partition: number): string {
    return `${this.prefix}:dd:window:{${partitionTag(topic, partition)}}`;
  }

  /**
   * Rebuild only: records the claims of stored (counted) events, overwriting any
   * other owner, so resends arriving after a rebuild are still recognised. One call per
   * partition (one slot each).
   */
  async restore(inputs: readonly ClaimInput[]): Promise<void> {
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>).ltRestoreClaims!;
    for (const group of byPartition(inputs).values()) {
      const { keys, args } = this.claimArgs(group.map((i) => inputs[i]!));
      await command.call(this.redis, keys.length, keys, args);
    }
  }

  /** KEYS and the packed ARGV of UNPACK, for inputs of ONE partition. */
  private claimArgs(inputs: readonly ClaimInput[]): { keys: string[]; args: (string | Buffer | number)[] } {
    // Buckets are told apart by number (hour * bucketsPerHour + bucket, exact far beyond any
    // event hour): a key string is made once per distinct bucket, not once per event.
    const keyIndex = new Map<number, number>();
    const keys: string[] = [];
    const fields = Buffer.allocUnsafe(inputs.length * FIELD_BYTES);
    const entries: (string | number)[] = new Array(inputs.length * 2);
    const { bucketsPerHour } = this.options;
    const first = inputs[0];
    const head = first ? `${this.prefix}:dd:{${partitionTag(first.topic, first.partition)}}:` : '';
    for (let i = 0; i < inputs.length; i++) {
      const e = inputs[i]!;
      const bucket = fingerprintInto(e.platform, e.eventId, fields, i * FIELD_BYTES) % bucketsPerHour;
      const hour = Math.floor(e.ts / HOUR_MS);
      const id = hour * bucketsPerHour + bucket;
      let index = keyIndex.get(id);
      if (index === undefined) keyIndex.set(id, (index = keys.push(`${head}${hour}:${bucket}`)));
      entries[i * 2] = ownerOf(e.partition, e.offset);
      entries[i * 2 + 1] = index;
    }
    return { keys, args: [this.options.windowSeconds, fields, JSON.stringify(entries)] };
  }

  /**
   * Returns, per input, true for the first occurrence (or its own replay), false for a
   * duplicate. With a fence: null (nothing claimed) when the caller no longer owns the
   * partition or Redis's applied offset is not the one it read; throws
   * DedupStateMissingError when the window's fingerprints were lost (see CLAIM_EVENTS).
   * A fenced claim runs even for no events, so that a partition's window is marked from
   * its first batch; its inputs must all be of the fence's partition (one slot).
   * Unfenced claims run one call per partition of the inputs.
   */
  async claim(inputs: readonly ClaimInput[]): Promise<boolean[]>;
  async claim(inputs: readonly ClaimInput[], fence: ClaimFence): Promise<boolean[] | null>;
  async claim(inputs: readonly ClaimInput[], fence?: ClaimFence): Promise<boolean[] | null> {
    if (inputs.length === 0 && !fence) return [];
    type Reply = number[] | ['missing', string] | null;
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<Reply>>).ltClaimEvents!;
    if (!fence) {
      const out: boolean[] = new Array(inputs.length);
      for (const group of byPartition(inputs).values()) {
        const { keys, args } = this.claimArgs(group.map((i) => inputs[i]!));
        const result = (await command.call(this.redis, keys.length, keys, args)) as number[];
        group.forEach((at, j) => (out[at] = result[j] === 1));
      }
      return out;
    }
    const foreign = inputs.find((e) => e.partition !== fence.partition || e.topic !== fence.topic);
    if (foreign)
      throw new Error(
        `claim of ${foreign.topic}/${foreign.partition} fenced by ${fence.topic}/${fence.partition}: a fenced claim keeps to one partition`,
      );
    const { keys, args } = this.claimArgs(inputs);
    const tag = partitionTag(fence.topic, fence.partition);
    keys.push(keySpace(this.prefix).offsets(tag), this.windowMarker(fence.topic, fence.partition));
    args.push(String(fence.partition), String(fence.ownerGen), fence.expectedOffset);
    const result = await command.call(this.redis, keys.length, keys, args);
    if (result === null) return null;
    if (result[0] === 'missing')
      throw new DedupStateMissingError(
        fence.topic,
        fence.partition,
        new Date(Number(result[1])),
        this.options.windowSeconds,
      );
    return (result as number[]).map((r) => r === 1);
  }
}

/** Input positions grouped by partition tag, in first-seen order. */
function byPartition(inputs: readonly ClaimInput[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  inputs.forEach((input, i) => {
    const tag = partitionTag(input.topic, input.partition);
    let group = groups.get(tag);
    if (!group) groups.set(tag, (group = []));
    group.push(i);
  });
  return groups;
}
