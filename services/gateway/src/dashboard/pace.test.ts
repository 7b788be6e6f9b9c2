import { describe, expect, it } from 'vitest';
import type { Campaign } from '@livetally/campaigns';
import { computePace } from '../http/pace';
import { paceOf } from './pace';

describe('dashboard pace', () => {
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
      likes: 0,
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
        const mine = paceOf(salesFen, 1_000_000, START, END, now);
        expect({ now, salesFen, status: mine.status }).toEqual({ now, salesFen, status: rest.status });
        expect(mine.expected).toBe(rest.expectedByNow > mine.expected ? rest.expectedByNow - 1 : rest.expectedByNow); // REST rounds, the page truncates
      }
    }
    expect(paceOf(500, 1000, START, END, START + 4 * 86_400_000)).toEqual({
      doneBp: 5000,
      elapsedBp: 4000,
      expected: 400,
      status: 'ahead',
    });
  });
});
