import { describe, expect, it } from 'vitest';
import { CombinationSums } from './combinations';
import type { CombinationRow } from './live-history';

const ZERO = {
  views: '0',
  sessions: '0',
  sessionsEnded: '0',
  salesFen: '0',
  refundsFen: '0',
  orders: '0',
  items: '0',
  refunds: '0',
  likes: '0',
};

const row = (stream: string, host: string, district: string, totals: Partial<typeof ZERO>): CombinationRow => ({
  partition: 0,
  values: { city: 'Shenzhen', district, category: 'beauty', platform: 'douyin', host, stream },
  totals: { ...ZERO, ...totals },
});

describe('CombinationSums', () => {
  const sums = new CombinationSums(CombinationSums.dimensionScopes);
  sums.add(row('s1', 'h1', 'Futian', { views: '9007199254740993', salesFen: '-5', sessions: '1' }));
  sums.add(row('s2', 'h1', 'Futian', { views: '2', salesFen: '7' }));
  sums.add(row('s3', 'h2', 'Nanshan', { views: '1', sessions: '1' }));

  it('gives each (scope, host) pair once', () => {
    const pairs = sums.hostPairs().map(([s, h]) => `${s} ${h}`);
    expect(pairs).toHaveLength(new Set(pairs).size);
    expect(pairs.filter((p) => p.endsWith(' h1')).sort()).toEqual([
      'all h1',
      'category:beauty h1',
      'city:Shenzhen h1',
      'district:Futian h1',
      'host:h1 h1',
      'platform:douyin h1',
      'stream:s1 h1',
      'stream:s2 h1',
    ]);
    expect(pairs).toContain('district:Nanshan h2');
  });

  it('sums every leaderboard measure per dimension member, exactly beyond 2^53', () => {
    const byMember = Object.fromEntries(sums.rankings().map((r) => [`${r.dimension}:${r.member}`, r]));
    expect(byMember['host:h1']).toEqual({
      dimension: 'host',
      member: 'h1',
      gmv: '2',
      views: '9007199254740995',
      sessions: '1',
    });
    expect(byMember['district:Nanshan']).toMatchObject({ gmv: '0', views: '1', sessions: '1' });
    expect(byMember['city:Shenzhen']).toMatchObject({ views: '9007199254740996', sessions: '2' });
    expect(Object.keys(byMember).sort()).toEqual([
      'category:beauty',
      'city:Shenzhen',
      'district:Futian',
      'district:Nanshan',
      'host:h1',
      'host:h2',
      'platform:douyin',
    ]);
  });

  it('totals every scope, exactly beyond 2^53', () => {
    const totals = sums.scopeTotals();
    expect(totals.get('all')).toMatchObject({ views: '9007199254740996', salesFen: '2', sessions: '2', likes: '0' });
    expect(totals.get('host:h1')).toMatchObject({ views: '9007199254740995', salesFen: '2', sessions: '1' });
    expect(totals.get('stream:s3')).toMatchObject({ views: '1', sessions: '1' });
    expect([...totals.keys()].sort()).toEqual([
      'all',
      'category:beauty',
      'city:Shenzhen',
      'district:Futian',
      'district:Nanshan',
      'host:h1',
      'host:h2',
      'platform:douyin',
      'stream:s1',
      'stream:s2',
      'stream:s3',
    ]);
    expect(new CombinationSums(() => ['campaign:c']).scopeTotals().size).toBe(0);
  });

  it('counts a campaign combination in the campaign scope only', () => {
    const campaign = new CombinationSums(() => ['campaign:c']);
    campaign.add(row('s1', 'h1', 'Futian', {}));
    campaign.add(row('s2', 'h1', 'Futian', {}));
    expect(campaign.hostPairs()).toEqual([['campaign:c', 'h1']]);
  });
});
