// Pure formatting for the dashboard. Money stays in integer fen end to end: never fen / 100
// as a float, which prints ¥…409.92 for 9,007,199,254,740,991 fen.

/** True for integers JavaScript holds exactly; every figure the gateway sends is one. */
export const isSafeInt = (v: unknown): v is number => Number.isSafeInteger(v);

function groupDigits(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatCount(n: number): string {
  return isSafeInt(n) ? (n < 0 ? '-' : '') + groupDigits(String(Math.abs(n))) : '—';
}

export interface FenParts {
  sign: '' | '-';
  /** Whole yuan, digits grouped. */
  yuan: string;
  /** Two digits. */
  fen: string;
}

// % and the subtraction are exact on safe integers, and (abs - cents) is a multiple of
// 100, so dividing it is exact too.
export function splitFen(fen: number): FenParts | null {
  if (!isSafeInt(fen)) return null;
  const abs = Math.abs(fen);
  const cents = abs % 100;
  const yuan = (abs - cents) / 100;
  return { sign: fen < 0 ? '-' : '', yuan: groupDigits(String(yuan)), fen: String(cents).padStart(2, '0') };
}

export function formatFen(fen: number): string {
  const p = splitFen(fen);
  return p ? `${p.sign}¥${p.yuan}.${p.fen}` : '—';
}

/** Whole yuan, fen dropped (ranking rows): ¥12,345. */
export function formatYuan(fen: number): string {
  const p = splitFen(fen);
  return p ? `${p.sign}¥${p.yuan}` : '—';
}

/** `whole` in units of `size`, truncated to one decimal: 12.3万. */
function shortUnit(whole: bigint, size: bigint, name: string): string {
  const tenths = (whole * 10n) / size;
  return groupDigits(String(tenths / 10n)) + (tenths % 10n ? `.${tenths % 10n}` : '') + name;
}

/** Short money for axes and targets, truncated, in BigInt: ¥9,999 · ¥3.5万 · ¥408亿. */
export function formatFenShort(fen: number): string {
  if (!isSafeInt(fen)) return '—';
  const sign = fen < 0 ? '-' : '';
  const yuan = BigInt(Math.abs(fen)) / 100n;
  if (yuan >= 100_000_000n) return `${sign}¥${shortUnit(yuan, 100_000_000n, '亿')}`;
  if (yuan >= 10_000n) return `${sign}¥${shortUnit(yuan, 10_000n, '万')}`;
  return `${sign}¥${groupDigits(String(yuan))}`;
}

/** Short counts for targets, truncated: 9,999 · 12.3万 · 9亿. */
export function formatCountShort(n: number): string {
  if (!isSafeInt(n)) return '—';
  const sign = n < 0 ? '-' : '';
  const abs = BigInt(Math.abs(n));
  if (abs >= 100_000_000n) return sign + shortUnit(abs, 100_000_000n, '亿');
  if (abs >= 100_000n) return sign + shortUnit(abs, 10_000n, '万');
  return formatCount(n);
}

/** part / whole in basis points (0.01 %), truncated; exact for any safe integers. */
export function shareBp(part: number, whole: number): number {
  if (!isSafeInt(part) || !isSafeInt(whole) || whole <= 0 || part <= 0) return 0;
  return Number((BigInt(part) * 10_000n) / BigInt(whole));
}

export function formatBp(bp: number): string {
  return `${Math.floor(bp / 100)}.${Math.floor((bp % 100) / 10)}%`;
}

/** Axis step in fen: 1, 2 or 5 × 10^k, so that about four steps cover max. */
export function niceStep(max: number): number {
  if (!isSafeInt(max) || max <= 0) return 100;
  const want = Math.ceil(max / 4);
  const mag = 10 ** (String(want).length - 1);
  for (const m of [1, 2, 5, 10]) if (m * mag >= want) return m * mag;
  return 10 * mag;
}
