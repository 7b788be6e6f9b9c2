import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOTALS_FIGURES, type Totals } from './figures';

const figure = (testid: string) => TOTALS_FIGURES.find((f) => f.testid === testid)!;
const show = (testid: string, t: Totals) => {
  const f = figure(testid);
  const v = f.read(t);
  return typeof v === 'number' ? f.format(v) : v;
};

describe('dashboard figures', () => {
  it('has one element in page.html for every totals figure, and a figure for every number there', () => {
    const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
    const numbers = [...page.matchAll(/data-testid="([^"]+)"[^>]*data-value=""/g)].map((m) => m[1]);
    // Drawn by their own code: the ticking hero, the campaign clock, the city's rank, the chart.
    const ownCode = ['gmv', 'elapsed', 'rank-city-Shenzhen', 'chart'];
    expect(numbers.filter((id) => !ownCode.includes(id!)).sort()).toEqual(TOTALS_FIGURES.map((f) => f.testid).sort());
  });

  it('derives net sales and live sessions when the frame lacks them, preferring the sent figure', () => {
    expect(figure('net-gmv').read({ salesFen: 1_000, refundsFen: 300 })).toBe(700);
    expect(figure('net-gmv').read({ salesFen: 1_000, refundsFen: 300, netSalesFen: 650 })).toBe(650);
    expect(figure('net-gmv').read({ salesFen: 1_000 })).toBeUndefined();
    expect(figure('live-sessions').read({ sessions: 9, sessionsEnded: 4 })).toBe(5);
    expect(figure('live-sessions').read({ sessions: 9, sessionsEnded: 4, liveSessions: 3 })).toBe(3);
    expect(figure('live-sessions').read({ sessions: 9 })).toBeUndefined();
    expect(figure('live-sessions').read({ sessions: 666, sessionsEnded: 667 })).toBe(0);
  });

  it('averages orders in truncated fen, exactly, and not for zero orders', () => {
    expect(show('avg-order', { salesFen: 1_000, orders: 3 })).toBe('¥3.33');
    expect(figure('avg-order').read({ salesFen: 9_007_199_254_740_991, orders: 2 })).toBe(4_503_599_627_370_495);
    expect(figure('avg-order').read({ salesFen: 1_000, orders: 0 })).toBeUndefined();
    expect(figure('avg-order').read({ salesFen: 1_000, orders: 1.5 })).toBeUndefined();
  });

  it('formats money figures in fen and counts grouped', () => {
    const t = { refundsFen: 123_456, views: 1_234_567 };
    expect([show('refunds-fen', t), show('views', t)]).toEqual(['¥1,234.56', '1,234,567']);
  });
});
