import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_FILE } from './dashboard';

// The page must stay one self-contained file, so its pure formatting block is lifted
// out of the HTML and evaluated here rather than shared as a module.
const html = readFileSync(DASHBOARD_FILE, 'utf8');
const block = /\/\/ --- formatting[^\n]*\n([\s\S]*?)\/\/ --- end formatting ---/.exec(html)![1]!;
const { formatFen, formatCount } = new Function(`${block}; return { formatFen, formatCount };`)() as {
  formatFen(fen: unknown): string;
  formatCount(n: unknown): string;
};

describe('dashboard formatting', () => {
  it('turns integer fen into yuan exactly', () => {
    expect(formatFen(0)).toBe('¥0.00');
    expect(formatFen(5)).toBe('¥0.05');
    expect(formatFen(123_456_789)).toBe('¥1,234,567.89');
    expect(formatFen(-250)).toBe('-¥2.50');
    expect(formatFen(9_007_199_254_740_991)).toBe('¥90,071,992,547,409.91'); // float division would print …409.92
    expect(formatFen(1.5)).toBe('—');
  });

  it('groups counts', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(12)).toBe('12');
    expect(formatCount(Number.NaN)).toBe('—');
  });
});
