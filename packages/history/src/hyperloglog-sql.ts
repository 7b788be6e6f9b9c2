/**
 * Redis's HyperLogLog register rule as ClickHouse SQL: PFADD hashes an element with
 * MurmurHash64A (seed 0xadc83b19), takes the low 14 bits as the register and the
 * position of the lowest set bit of the other 50 (plus one, at most 51) as the rank; a
 * register keeps the highest rank it saw. ClickHouse's own murmurHash2_64 uses seed 0,
 * so the hash is spelled out here (UInt64 arithmetic wraps as C's does). With the
 * registers computed where the rows are, a rebuild reads at most 16,384 numbers per
 * scope instead of every (scope, id) pair, and writes each HyperLogLog whole
 * (@livetally/live-state encodeHyperLogLog). tests/rebuild-hyperloglog.test.ts holds
 * it to Redis's own PFADD, register for register.
 */

const M = '0xc6a4a7935bd1e995';
const SEED = 0xadc83b19;
const R = 47;
export const HLL_INDEX_BITS = 14;
export const HLL_REGISTER_COUNT = 2 ** HLL_INDEX_BITS;

/**
 * Columns `hll_index` (0..16383) and `hll_rank` (1..51) of the string column `column`,
 * as SELECT items; they need `hll_`-prefixed names of their own, nothing else is bound.
 */
export function hllRegisterSelect(column: string): string {
  const block = `(reinterpretAsUInt64(substring(${column}, hll_i * 8 + 1, 8)) * ${M})`;
  const mix = (x: string) => `bitXor(${x}, bitShiftRight(${x}, ${R}))`;
  return [
    `length(${column}) AS hll_len`,
    `intDiv(hll_len, 8) AS hll_blocks`,
    // Whole 8-byte blocks, little-endian as Redis reads them.
    `arrayFold((hll_acc, hll_i) -> bitXor(hll_acc, ${mix(block)} * ${M}) * ${M}, range(hll_blocks), bitXor(toUInt64(${SEED}), hll_len * ${M})) AS hll_body`,
    // The last 1-7 bytes: zero-padded, so one XOR takes them all.
    `if(bitAnd(hll_len, 7) != 0, bitXor(hll_body, reinterpretAsUInt64(substring(${column}, hll_blocks * 8 + 1))) * ${M}, hll_body) AS hll_tail`,
    `${mix('hll_tail')} * ${M} AS hll_mixed`,
    `${mix('hll_mixed')} AS hll_hash`,
    `bitAnd(hll_hash, ${HLL_REGISTER_COUNT - 1}) AS hll_index`,
    // Bit 50 set bounds the rank at 51; x ^ (x - 1) has (trailing zeros + 1) bits.
    `bitOr(bitShiftRight(hll_hash, ${HLL_INDEX_BITS}), bitShiftLeft(toUInt64(1), 50)) AS hll_rest`,
    `bitCount(bitXor(hll_rest, hll_rest - 1)) AS hll_rank`,
  ].join(',\n      ');
}
