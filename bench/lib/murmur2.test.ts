import { murmur2 as platformaticMurmur2 } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionOfKey } from './murmur2';

describe('murmur2', () => {
  it("gives Kafka's hash for keys of every length mod 4, non-ASCII keys and keys beyond the scratch buffer", () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'stream-000123', 'douyin:s:4f9c2e7a', '深圳直播间-7', 'ü'.repeat(200)];
    for (let i = 0; i < 2_000; i++) keys.push(`s${i}-${(i * 2654435761) % 1e9}`);
    for (const key of keys) expect(murmur2(key), key).toBe(platformaticMurmur2(key) | 0);
    expect(murmur2(Buffer.from('abc'))).toBe(platformaticMurmur2(Buffer.from('abc')) | 0);
  });

  it("places keys as the default partitioners do: the hash's low 31 bits modulo the partitions", () => {
    for (const key of ['stream-1', 'stream-2', 'x'])
      expect(partitionOfKey(key, 12)).toBe((platformaticMurmur2(key) & 0x7fffffff) % 12);
    // Java's documented example values (Utils.murmur2 of "21" → -973932308).
    expect(murmur2('21')).toBe(-973932308);
  });
});
