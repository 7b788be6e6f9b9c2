import { describe, expect, it } from 'vitest';
import { HLL_MAX_RANK, HLL_REGISTERS, HLL_SPARSE_MAX_BYTES, encodeHyperLogLog } from './hyperloglog';

/** Reads registers back as Redis's hyperloglog.c lays them out (dense: 6 bits each; sparse: ZERO/XZERO/VAL). */
function decode(value: Buffer): { encoding: 'dense' | 'sparse'; registers: number[] } {
  expect(value.subarray(0, 4).toString('latin1')).toBe('HYLL');
  expect(value[15]! & 0x80).toBe(0x80); // cached cardinality marked stale
  const registers: number[] = [];
  if (value[4] === 0) {
    const body = value.subarray(16);
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const bit = i * 6;
      const word = body[bit >> 3]! | ((body[(bit >> 3) + 1] ?? 0) << 8);
      registers.push((word >> (bit & 7)) & 63);
    }
    return { encoding: 'dense', registers };
  }
  for (let p = 16; p < value.length; p++) {
    const op = value[p]!;
    if ((op & 0xc0) === 0) registers.push(...new Array<number>((op & 0x3f) + 1).fill(0));
    else if ((op & 0xc0) === 0x40) registers.push(...new Array<number>((((op & 0x3f) << 8) | value[++p]!) + 1).fill(0));
    else registers.push(...new Array<number>((op & 3) + 1).fill(((op >> 2) & 0x1f) + 1));
  }
  return { encoding: 'sparse', registers };
}

function registersWith(entries: [index: number, rank: number][]): Uint8Array {
  const r = new Uint8Array(HLL_REGISTERS);
  for (const [i, v] of entries) r[i] = v;
  return r;
}

describe('encodeHyperLogLog', () => {
  it('writes few registers sparse: runs of zeros (short and long), runs of equal values up to 4', () => {
    const entries: [number, number][] = [
      [0, 1],
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [70, 32],
      [16_383, 7],
    ];
    const value = encodeHyperLogLog(registersWith(entries));
    const { encoding, registers } = decode(value);
    expect(encoding).toBe('sparse');
    expect(registers).toEqual([...registersWith(entries)]);
    // VAL×4, VAL, XZERO(65), VAL, XZERO(16,312), VAL
    expect(value.length).toBe(16 + 8);
  });

  it('writes dense, 6 bits a register, once sparse would be longer than PFADD keeps it or a rank is above 32', () => {
    const many = new Uint8Array(HLL_REGISTERS).map((_, i) => (i % 3 === 0 ? 0 : 1 + (i % 51)));
    const dense = encodeHyperLogLog(many);
    expect(dense.length).toBe(16 + 12_288);
    expect(decode(dense)).toEqual({ encoding: 'dense', registers: [...many] });

    const high = registersWith([
      [5, 33],
      [16_383, HLL_MAX_RANK],
    ]);
    expect(decode(encodeHyperLogLog(high))).toEqual({ encoding: 'dense', registers: [...high] });

    // Alternating registers need one opcode each: sparse stays at most HLL_SPARSE_MAX_BYTES.
    const alternating = (n: number) => registersWith(Array.from({ length: n }, (_, i): [number, number] => [i * 2, 1]));
    const fits = (HLL_SPARSE_MAX_BYTES - 16) / 2;
    expect(decode(encodeHyperLogLog(alternating(fits - 1))).encoding).toBe('sparse');
    expect(decode(encodeHyperLogLog(alternating(fits + 1))).encoding).toBe('dense');
  });

  it('refuses what is no HyperLogLog', () => {
    expect(() => encodeHyperLogLog(new Uint8Array(100))).toThrow(/16384 registers/);
    expect(() => encodeHyperLogLog(registersWith([[1, 52]]))).toThrow(/at most 51/);
  });
});
