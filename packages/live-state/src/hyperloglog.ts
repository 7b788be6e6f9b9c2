/**
 * Redis's HyperLogLog value (a string: header, then sparse or dense registers), built
 * from its 16,384 registers. A rebuild gets the registers from ClickHouse, which hashes
 * the ids exactly as PFADD does (packages/history, counting-sql's HLL_REGISTER_SQL),
 * and writes each estimate with one SET instead of PFADDing every id: what it writes is
 * what PFADDing the ids would have left, register for register. Layout as Redis's
 * hyperloglog.c defines it.
 */

export const HLL_REGISTERS = 16_384;
/** The largest register value: ranks run 1..51 (50 hash bits plus the terminating one). */
export const HLL_MAX_RANK = 51;

const HEADER_BYTES = 16;
const DENSE_BYTES = (HLL_REGISTERS * 6) / 8;
const ENCODING = { dense: 0, sparse: 1 } as const;
/** Redis's hll-sparse-max-bytes default: PFADD turns a sparse value longer than this dense. */
export const HLL_SPARSE_MAX_BYTES = 3_000;
const SPARSE_MAX_VALUE = 32;
const SPARSE_MAX_VAL_RUN = 4;
const SPARSE_MAX_ZERO_RUN = 64;

/** "HYLL", the encoding, three unused bytes and the cached cardinality, marked stale so Redis computes it. */
function header(encoding: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('HYLL', 0, 'latin1');
  h[4] = encoding;
  h[15] = 0x80;
  return h;
}

function dense(registers: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + DENSE_BYTES);
  header(ENCODING.dense).copy(out);
  for (let i = 0; i < HLL_REGISTERS; i++) {
    const v = registers[i]!;
    if (v === 0) continue;
    // Register i is the 6 bits at bit i × 6, least significant bit first.
    const byte = HEADER_BYTES + ((i * 6) >> 3);
    const bit = (i * 6) & 7;
    out[byte]! |= (v << bit) & 0xff;
    if (bit > 2) out[byte + 1]! |= v >> (8 - bit);
  }
  return out;
}

/**
 * Opcodes ZERO (00xxxxxx: 1-64 zero registers), XZERO (01xxxxxx yyyyyyyy: up to 16,384)
 * and VAL (1vvvvvxx: 1-4 registers of value 1-32); null when a register is above 32 or
 * the value would be longer than PFADD keeps sparse.
 */
function sparse(registers: Uint8Array): Buffer | null {
  const ops: number[] = [];
  for (let i = 0; i < HLL_REGISTERS;) {
    const v = registers[i]!;
    let run = 1;
    if (v === 0) {
      while (i + run < HLL_REGISTERS && registers[i + run] === 0) run++;
      if (run <= SPARSE_MAX_ZERO_RUN) ops.push(run - 1);
      else ops.push(0x40 | ((run - 1) >> 8), (run - 1) & 0xff);
    } else {
      if (v > SPARSE_MAX_VALUE) return null;
      while (i + run < HLL_REGISTERS && registers[i + run] === v && run < SPARSE_MAX_VAL_RUN) run++;
      ops.push(0x80 | ((v - 1) << 2) | (run - 1));
    }
    if (HEADER_BYTES + ops.length > HLL_SPARSE_MAX_BYTES) return null;
    i += run;
  }
  return Buffer.concat([header(ENCODING.sparse), Buffer.from(ops)]);
}

/** The value of a HyperLogLog with these registers: sparse where PFADD would keep it sparse, else dense. */
export function encodeHyperLogLog(registers: Uint8Array): Buffer {
  if (registers.length !== HLL_REGISTERS)
    throw new Error(`a HyperLogLog has ${HLL_REGISTERS} registers, got ${registers.length}`);
  for (const v of registers)
    if (v > HLL_MAX_RANK) throw new Error(`a HyperLogLog register is at most ${HLL_MAX_RANK}, got ${v}`);
  return sparse(registers) ?? dense(registers);
}
