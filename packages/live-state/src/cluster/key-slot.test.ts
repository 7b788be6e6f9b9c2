import { describe, expect, it } from 'vitest';
import { crc16, hashedPart, keySlot } from './key-slot';

describe('keySlot', () => {
  it("is CRC16-XMODEM modulo 16384 of the key's hash tag, as Redis Cluster computes it", () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3); // the CRC's check value
    expect(keySlot('foo')).toBe(12_182);
    expect(keySlot('lt:t:{t/7}:all')).toBe(keySlot('t/7'));
    expect(keySlot('lt:off:{t/7}')).toBe(keySlot('lt:m:{t/7}:all:1'));
  });

  it('hashes the whole key when its braces hold nothing', () => {
    expect(hashedPart('a{}b')).toBe('a{}b');
    expect(hashedPart('a{b}{c}')).toBe('b');
    expect(hashedPart('no-tag')).toBe('no-tag');
  });
});
