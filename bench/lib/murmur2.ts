/**
 * Kafka's murmur2 key hash (Java's Utils.murmur2, which kafkajs's and @platformatic/kafka's
 * default partitioners port) in 32-bit integer arithmetic. The ports compute it with
 * Long objects or BigInt, microseconds a key; the month's producer hashes every event's key
 * itself, to know which partition it goes to (month-sittings.ts) and to hand the client a
 * partition instead of a key to hash.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const scratch = Buffer.alloc(256);

export function murmur2(key: string | Buffer): number {
  let data: Buffer;
  let length: number;
  if (typeof key !== 'string') {
    data = key;
    length = key.length;
  } else if (key.length * 3 <= scratch.length) {
    data = scratch;
    length = scratch.write(key, 0, 'utf8');
  } else {
    data = Buffer.from(key, 'utf8');
    length = data.length;
  }
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Java's and kafkajs's default partitioners give a keyed message. */
export function partitionOfKey(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
