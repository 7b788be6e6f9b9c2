import { describe, expect, it } from 'vitest';
import { activeCampaign, campaignFromBody } from './campaigns';

const NOW = 1_700_000_000_000;
const active = (id: string, startsAt = NOW - 1, endsAt = NOW + 1) => ({ id, status: 'active', startsAt, endsAt });

describe('dashboard campaign choice', () => {
  it('reads a campaign bare or wrapped, only if it is the one asked for', () => {
    expect(campaignFromBody({ id: 'a', name: 'A' }, 'a')).toEqual({ id: 'a', name: 'A' });
    expect(campaignFromBody({ campaign: { id: 'a' }, pace: {} }, 'a')).toEqual({ id: 'a' });
    expect(campaignFromBody({ id: 'b' }, 'a')).toBeNull();
    expect(campaignFromBody(null, 'a')).toBeNull();
    expect(campaignFromBody('a', 'a')).toBeNull();
  });

  it('follows the first active campaign whose window holds now', () => {
    const list = [
      { ...active('draft'), status: 'draft' },
      active('later', NOW + 1, NOW + 10),
      active('over', NOW - 10, NOW), // the end is exclusive
      active('Bad_Id'),
      { ...active('no-end'), endsAt: undefined },
      active('now', NOW, NOW + 1), // the start is inclusive
      active('second'),
    ];
    expect(activeCampaign(list, NOW)?.id).toBe('now');
    expect(activeCampaign({ campaigns: list }, NOW)?.id).toBe('now');
    expect(activeCampaign({ campaigns: list.slice(0, 5) }, NOW)).toBeNull();
    expect(activeCampaign({ error: 'x' }, NOW)).toBeNull();
    expect(activeCampaign([null, 3, active('ok')], NOW)?.id).toBe('ok');
  });
});
