import { describe, expect, it } from 'vitest';
import { CampaignError } from './service';
import { memoryCampaigns } from './testing';

const setup = (now = Date.parse('2024-09-10T10:00:30+08:00')) => memoryCampaigns(() => now);
const input = {
  id: 'ecm-2024',
  name: 'E-commerce Month',
  startsAt: '2024-08-23T00:00:00+08:00',
  endsAt: '2024-11-01T00:00:00+08:00',
};

describe('CampaignService', () => {
  it('creates, marks pending, replaces with a new version and ends at the next minute', async () => {
    const { service, backfilled } = setup();
    const c = await service.create(input);
    expect(c).toMatchObject({ id: 'ecm-2024', version: 1, status: 'active', timeZone: 'Asia/Shanghai' });
    const r = await service.replace('ecm-2024', { ...input, filters: { districts: ['Luohu'] } });
    expect(r.version).toBe(2);
    const e = await service.end('ecm-2024');
    expect(e).toMatchObject({ status: 'ended', version: 3, endsAt: Date.parse('2024-09-10T10:01:00+08:00') });
    await service.idle();
    expect(backfilled).toEqual(['ecm-2024@1', 'ecm-2024@2', 'ecm-2024@3']);
  });

  it('starts no backfill for a change of name, targets or time zone only', async () => {
    const { service, backfilled } = setup();
    await service.create({ ...input, filters: { districts: ['Luohu', 'Futian'] } });
    const r = await service.replace('ecm-2024', {
      ...input,
      name: 'Renamed',
      timeZone: 'UTC',
      targets: { views: 5 },
      filters: { districts: ['Futian', 'Luohu'] },
    });
    expect(r).toMatchObject({ name: 'Renamed', version: 2 });
    await service.idle();
    expect(backfilled).toEqual(['ecm-2024@1']);
  });

  it('refuses duplicates, unknown ids and invalid input with typed errors', async () => {
    const { service } = setup();
    await service.create(input);
    await expect(service.create(input)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(service.get('nope')).rejects.toBeInstanceOf(CampaignError);
    await expect(service.replace('nope', input)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.create({ ...input, id: 'x', startsAt: '2024-08-23T00:00:30+08:00' })).rejects.toMatchObject({
      code: 'INVALID_CAMPAIGN',
      details: [{ field: 'startsAt' }],
    });
  });
});
