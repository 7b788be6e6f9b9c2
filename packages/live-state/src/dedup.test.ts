import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprint, ownerOf } from './dedup';

describe('fingerprint', () => {
  it('is stable and bucketed by event hour', () => {
    const a = fingerprint('douyin', 'e-1', Date.UTC(2024, 7, 23, 10, 5), 1024);
    const b = fingerprint('douyin', 'e-1', Date.UTC(2024, 7, 23, 10, 55), 1024);
    expect(a.bucket).toBe(b.bucket);
    expect(a.field.equals(b.field)).toBe(true);
    expect(a.field).toHaveLength(12);
    expect(fingerprint('douyin', 'e-1', Date.UTC(2024, 7, 23, 11, 0), 1024).bucket).not.toBe(a.bucket);
  });

  it('separates platforms and ids', () => {
    const a = fingerprint('douyin', 'e-1', 0, 1024);
    expect(fingerprint('taobao', 'e-1', 0, 1024).field.equals(a.field)).toBe(false);
    expect(fingerprint('douyin', 'e-2', 0, 1024).field.equals(a.field)).toBe(false);
    // The separator keeps ("ab","c") and ("a","bc") apart.
    expect(fingerprint('ab', 'c', 0, 1).field.equals(fingerprint('a', 'bc', 0, 1).field)).toBe(false);
  });

  it('packs a Kafka position into one integer', () => {
    expect(ownerOf(0, '7')).toBe('7');
    expect(ownerOf(3, '42')).toBe(String(3 * 2 ** 40 + 42));
    // Beyond doubles: the same integer BigInt gives.
    expect(ownerOf(9000, '1099511627775')).toBe((9000n * 2n ** 40n + 1099511627775n).toString());
    expect(ownerOf(1, '2000000000000')).toBe((2n ** 40n + 2000000000000n).toString());
  });

  it('is digest bytes 4..15 of SHA-1, bucketed by bytes 0..3', () => {
    const d = createHash('sha1').update('douyin\u0000e-1').digest();
    expect(fingerprint('douyin', 'e-1', 0, 1024)).toEqual({
      bucket: `0:${d.readUInt32BE(0) % 1024}`,
      field: d.subarray(4, 16),
    });
  });
});
