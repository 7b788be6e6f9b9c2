import { describe, expect, it } from 'vitest';
import { checkMonth, formatMonthCheck, type Figures } from './month-check';

const sent: Figures = {
  salesFen: 4_080_000_00,
  views: 582_951,
  sessions: 67,
  sessionsEnded: 66,
  orders: 16_000,
  items: 19_500,
  refunds: 1_200,
  refundsFen: 30_000_00,
  likes: 90_000,
};
const plan = { salesFen: sent.salesFen, views: sent.views, sessions: sent.sessions };

describe('checkMonth', () => {
  it('is exact when every read path shows every figure', () => {
    const check = checkMonth(plan, sent, { rest: { figures: { ...sent } }, ws: { figures: { ...sent, extra: 1 } } });
    expect(check.exact).toBe(true);
    expect(check.rows.map((r) => r.figure)).toContain('likes');
    expect(check.rows.find((r) => r.figure === 'orders')).toMatchObject({ plan: null, expected: 16_000 });
  });

  it('fails on one figure of one read path that differs by one', () => {
    const check = checkMonth(plan, sent, {
      rest: { figures: { ...sent } },
      history: { figures: { ...sent, likes: sent.likes - 1 } },
    });
    expect(check.exact).toBe(false);
    expect(check.rows.filter((r) => !r.exact).map((r) => r.figure)).toEqual(['likes']);
  });

  it('fails when what was sent differs from the plan, even if every read path shows the plan', () => {
    const short = { ...sent, views: sent.views - 5 };
    const check = checkMonth(plan, short, { rest: { figures: sent } });
    expect(check.exact).toBe(false);
    expect(check.rows.find((r) => r.figure === 'views')).toMatchObject({
      expected: plan.views,
      sent: short.views,
      exact: false,
    });
  });

  it('fails on a missing figure and on a read path that answered nothing', () => {
    const { likes: _dropped, ...withoutLikes } = sent;
    expect(checkMonth(plan, sent, { ws: { figures: withoutLikes } }).exact).toBe(false);
    const check = checkMonth(plan, sent, { rest: { figures: sent }, ws: { error: 'timed out' } });
    expect(check.exact).toBe(false);
    expect(check.errors).toEqual({ ws: 'timed out' });
  });

  it('prints one line per figure with every read path and the verdict', () => {
    const text = formatMonthCheck(
      checkMonth(plan, sent, { rest: { figures: sent }, ws: { figures: { ...sent, orders: 1 } } }),
    );
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^figure\s+plan\s+sent\s+rest\s+ws$/);
    expect(lines.find((l) => l.startsWith('salesFen'))).toMatch(
      /408,000,000\s+408,000,000\s+408,000,000\s+408,000,000\s+exact$/,
    );
    expect(lines.find((l) => l.startsWith('orders'))).toMatch(/–\s+16,000\s+16,000\s+1\s+DIFFERS$/);
  });
});
