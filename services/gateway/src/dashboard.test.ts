import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Campaign } from '@livetally/campaigns';
import { DASHBOARD_FILE, loadDashboard } from './dashboard';
import { computePace } from './http/pace';

// The page must stay one self-contained file, so its pure formatting block is lifted
// out of the HTML and evaluated here rather than shared as a module.
const html = readFileSync(DASHBOARD_FILE, 'utf8');
const block = /\/\/ --- formatting[^\n]*\n([\s\S]*?)\/\/ --- end formatting ---/.exec(html)![1]!;
type PaceStatus = 'not_started' | 'ahead' | 'behind' | 'met' | 'missed';
const page = new Function(
  `${block}; return { formatFen, formatCount, formatYuan, formatFenShort, formatCountShort, shareBp, formatBp, paceOf, niceStep };`,
)() as {
  formatFen(fen: unknown): string;
  formatCount(n: unknown): string;
  formatYuan(fen: unknown): string;
  formatFenShort(fen: unknown): string;
  formatCountShort(n: unknown): string;
  shareBp(part: number, whole: number): number;
  formatBp(bp: number): string;
  paceOf(
    actual: number,
    target: number,
    startsAt: number,
    endsAt: number,
    now: number,
  ): { doneBp: number; elapsedBp: number; expected: number; status: PaceStatus };
  niceStep(max: number): number;
};
const { formatFen, formatCount } = page;

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

  it('drops fen for whole-yuan figures and shortens with 万 and 亿 by truncating, never rounding', () => {
    expect(page.formatYuan(123_456_799)).toBe('¥1,234,567');
    expect(page.formatYuan(-99)).toBe('-¥0');
    expect(page.formatFenShort(999_999)).toBe('¥9,999');
    expect(page.formatFenShort(1_000_000)).toBe('¥1万');
    expect(page.formatFenShort(3_599_999)).toBe('¥3.5万');
    expect(page.formatFenShort(4_080_000_000_000)).toBe('¥408亿');
    expect(page.formatFenShort(9_007_199_254_740_991)).toBe('¥900,719.9亿');
    expect(page.formatFenShort(0.5)).toBe('—');
    expect(page.formatCountShort(99_999)).toBe('99,999');
    expect(page.formatCountShort(1_234_567)).toBe('123.4万');
    expect(page.formatCountShort(900_000_000)).toBe('9亿');
  });

  it('computes shares in basis points with BigInt, exact beyond 2^53 intermediates', () => {
    expect(page.shareBp(1, 3)).toBe(3333);
    expect(page.shareBp(4_080_000_000_000, 4_080_000_000_000)).toBe(10_000);
    expect(page.shareBp(9_007_199_254_740_990, 9_007_199_254_740_991)).toBe(9_999); // a float would say 10000
    expect(page.shareBp(5, 0)).toBe(0);
    expect(page.formatBp(3333)).toBe('33.3%');
    expect(page.formatBp(12_500)).toBe('125.0%');
  });

  it('picks axis steps of 1, 2 or 5 × 10^k', () => {
    expect([0, 1, 7, 399, 401, 1_999, 120_000_000].map(page.niceStep)).toEqual([100, 1, 2, 100, 200, 500, 50_000_000]);
  });

  it('judges pace exactly as the REST pace does', () => {
    const START = Date.parse('2024-08-23T00:00:00+08:00');
    const END = START + 10 * 86_400_000;
    const campaign = {
      id: 'c',
      name: 'C',
      startsAt: START,
      endsAt: END,
      timeZone: 'Asia/Shanghai',
      filters: {},
      targets: { gmvFen: 1_000_000 },
      status: 'active',
      createdAt: 0,
      updatedAt: 0,
      version: 1,
    } satisfies Campaign;
    const zero = {
      views: 0,
      sessions: 0,
      sessionsEnded: 0,
      salesFen: 0,
      refundsFen: 0,
      netSalesFen: 0,
      orders: 0,
      items: 0,
      refunds: 0,
      uniqueViewers: 0,
      activeHosts: 0,
    };
    for (const now of [
      START - 1,
      START,
      START + 1,
      START + 86_400_000,
      START + 4 * 86_400_000 + 17,
      END - 1,
      END,
      END + 1,
    ]) {
      for (const salesFen of [0, 1, 99_999, 100_000, 399_999, 400_001, 999_999, 1_000_000, 2_000_000]) {
        const rest = computePace(campaign, { ...zero, salesFen }, now).targets.gmvFen!;
        const mine = page.paceOf(salesFen, 1_000_000, START, END, now);
        expect({ now, salesFen, status: mine.status }).toEqual({ now, salesFen, status: rest.status });
        expect(mine.expected).toBe(rest.expectedByNow > mine.expected ? rest.expectedByNow - 1 : rest.expectedByNow); // REST rounds, the page truncates
      }
    }
    expect(page.paceOf(500, 1000, START, END, START + 4 * 86_400_000)).toEqual({
      doneBp: 5000,
      elapsedBp: 4000,
      expected: 400,
      status: 'ahead',
    });
  });
});

describe('dashboard page', () => {
  const { securityHeaders } = loadDashboard();
  const csp = securityHeaders['content-security-policy']!;

  it('is one self-contained file whose inline script and style the CSP allows by hash', () => {
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    const styles = [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/g)];
    expect([scripts.length, styles.length]).toEqual([1, 1]);
    for (const [whole, body] of [...scripts, ...styles]) {
      expect(whole).toMatch(/^<(script|style)>/); // no attributes, or dashboard.ts would not hash it
      const hash = `'sha256-${createHash('sha256').update(body!, 'utf8').digest('base64')}'`;
      expect(csp).toContain(hash);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(
      csp
        .split(';')
        .map((d) => d.trim())
        .filter((d) => d.startsWith('connect-src')),
    ).toEqual(["connect-src 'self'"]);
  });

  it('loads nothing from elsewhere and uses nothing the CSP would block', () => {
    expect(html).not.toMatch(/\ssrc=/i);
    expect([...html.matchAll(/\shref="([^"]*)"/gi)].map((m) => m[1])).toEqual(['data:,']);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:|\/\/)/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // the SVG namespace is a name, not a request
    expect(html).not.toMatch(/\sstyle="/i); // inline style attributes are blocked by a hash-only style-src
    expect(html).not.toMatch(/\son[a-z]+="/i); // inline event handlers are blocked too
    expect(html).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write|eval\(/); // names from the data go in as text only
  });

  it('gives every figure a stable data-testid with a data-value', () => {
    for (const id of [
      'gmv',
      'net-gmv',
      'refunds-fen',
      'views',
      'unique-viewers',
      'sessions',
      'sessions-ended',
      'live-sessions',
      'active-hosts',
      'orders',
      'items',
      'refunds',
      'rank-city-Shenzhen',
      'chart',
    ]) {
      expect(html, id).toMatch(new RegExp(`data-testid="${id}"[^>]*data-value=""`));
    }
    expect(html).toContain('data-testid="status" data-state="connecting"');
  });
});
