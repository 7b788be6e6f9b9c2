import { describe, expect, it } from 'vitest';
import type { Campaign } from '@livetally/campaigns';
import { measures } from '../testing/api-fakes';
import { computePace } from './pace';

const START = Date.parse('2024-08-23T00:00:00+08:00');
const END = START + 10 * 86_400_000;
const campaign: Campaign = {
  id: 'c',
  name: 'C',
  startsAt: START,
  endsAt: END,
  timeZone: 'Asia/Shanghai',
  filters: {},
  targets: { gmvFen: 1000, views: 100, hosts: 4 },
  status: 'active',
  createdAt: 0,
  updatedAt: 0,
  version: 1,
};

describe('computePace', () => {
  it('compares the share done with the elapsed share', () => {
    const p = computePace(campaign, measures({ salesFen: 500, views: 20, activeHosts: 4 }), START + 4 * 86_400_000);
    expect(p.elapsedShare).toBe(0.4);
    expect(p.targets.gmvFen).toEqual({
      measure: 'salesFen',
      target: 1000,
      actual: 500,
      doneShare: 0.5,
      expectedByNow: 400,
      status: 'ahead',
    });
    expect(p.targets.views).toMatchObject({ doneShare: 0.2, expectedByNow: 40, status: 'behind' });
    expect(p.targets.hosts).toMatchObject({ measure: 'activeHosts', status: 'met' });
    expect(p.targets.sessions).toBeUndefined();
  });

  it('knows not started and missed', () => {
    expect(computePace(campaign, measures(), START - 1).targets.gmvFen?.status).toBe('not_started');
    const after = computePace(campaign, measures({ salesFen: 999 }), END + 1);
    expect([after.elapsedShare, after.targets.gmvFen?.status]).toEqual([1, 'missed']);
  });
});
