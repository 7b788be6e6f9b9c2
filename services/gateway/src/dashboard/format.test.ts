import { describe, expect, it } from 'vitest';
import {
  formatBp,
  formatCount,
  formatCountShort,
  formatFen,
  formatFenShort,
  formatYuan,
  niceStep,
  shareBp,
  splitFen,
} from './format';

describe('dashboard formatting', () => {
  it('turns integer fen into yuan exactly', () => {
    expect(formatFen(0)).toBe('¥0.00');
    expect(formatFen(5)).toBe('¥0.05');
    expect(formatFen(123_456_789)).toBe('¥1,234,567.89');
    expect(formatFen(-250)).toBe('-¥2.50');
    expect(formatFen(9_007_199_254_740_991)).toBe('¥90,071,992,547,409.91'); // float division would print …409.92
    expect(formatFen(1.5)).toBe('—');
    expect(splitFen(-123_456_701)).toEqual({ sign: '-', yuan: '1,234,567', fen: '01' });
    expect(splitFen(Number.MAX_SAFE_INTEGER + 1)).toBeNull();
  });

  it('groups counts', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(12)).toBe('12');
    expect(formatCount(-1_000)).toBe('-1,000');
    expect(formatCount(Number.NaN)).toBe('—');
  });

  it('drops fen for whole-yuan figures and shortens with 万 and 亿 by truncating, never rounding', () => {
    expect(formatYuan(123_456_799)).toBe('¥1,234,567');
    expect(formatYuan(-99)).toBe('-¥0');
    expect(formatFenShort(999_999)).toBe('¥9,999');
    expect(formatFenShort(1_000_000)).toBe('¥1万');
    expect(formatFenShort(3_599_999)).toBe('¥3.5万');
    expect(formatFenShort(-3_599_999)).toBe('-¥3.5万');
    expect(formatFenShort(4_080_000_000_000)).toBe('¥408亿');
    expect(formatFenShort(9_007_199_254_740_991)).toBe('¥900,719.9亿');
    expect(formatFenShort(0.5)).toBe('—');
    expect(formatCountShort(99_999)).toBe('99,999');
    expect(formatCountShort(1_234_567)).toBe('123.4万');
    expect(formatCountShort(900_000_000)).toBe('9亿');
    expect(formatCountShort(-1_234_567)).toBe('-123.4万');
  });

  it('computes shares in basis points with BigInt, exact beyond 2^53 intermediates', () => {
    expect(shareBp(1, 3)).toBe(3333);
    expect(shareBp(4_080_000_000_000, 4_080_000_000_000)).toBe(10_000);
    expect(shareBp(9_007_199_254_740_990, 9_007_199_254_740_991)).toBe(9_999); // a float would say 10000
    expect(shareBp(5, 0)).toBe(0);
    expect(formatBp(3333)).toBe('33.3%');
    expect(formatBp(12_500)).toBe('125.0%');
  });

  it('picks axis steps of 1, 2 or 5 × 10^k', () => {
    expect([0, 1, 7, 399, 401, 1_999, 120_000_000].map(niceStep)).toEqual([100, 1, 2, 100, 200, 500, 50_000_000]);
  });
});
