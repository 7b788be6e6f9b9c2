import { describe, expect, it } from 'vitest';
import type { EventBase } from '@livetally/events';
import { CampaignMatcher, coverageOf, matchesCampaign, stagingScope, type Campaign } from './campaign';
import { validateCampaignInput } from './validate';

// Livestreaming E-commerce Month 2024: 23 Aug – 31 Oct inclusive, Asia/Shanghai.
const ECM: Campaign = {
  id: 'ecm-2024',
  name: 'Livestreaming E-commerce Month',
  startsAt: Date.parse('2024-08-23T00:00:00+08:00'),
  endsAt: Date.parse('2024-11-01T00:00:00+08:00'),
  timeZone: 'Asia/Shanghai',
  filters: { cities: ['Shenzhen'] },
  targets: { gmvFen: 4_080_000_000_000 },
  status: 'active',
  createdAt: 0,
  updatedAt: 0,
  version: 1,
};
const event = (over: Partial<EventBase> = {}): EventBase => ({
  v: 1,
  type: 'view',
  eventId: 'e',
  platform: 'douyin',
  streamId: 's',
  hostId: 'h',
  ts: Date.parse('2024-09-01T12:00:00+08:00'),
  city: 'Shenzhen',
  district: 'Luohu',
  category: 'jewellery',
  ...over,
});

describe('campaign matching', () => {
  it('matches by event time, start inclusive and end exclusive, in the campaign zone', () => {
    expect(matchesCampaign(ECM, event())).toBe(true);
    expect(matchesCampaign(ECM, event({ ts: Date.parse('2024-08-23T00:00:00+08:00') }))).toBe(true);
    expect(matchesCampaign(ECM, event({ ts: Date.parse('2024-08-22T23:59:59.999+08:00') }))).toBe(false);
    expect(matchesCampaign(ECM, event({ ts: Date.parse('2024-10-31T23:59:59.999+08:00') }))).toBe(true);
    expect(matchesCampaign(ECM, event({ ts: Date.parse('2024-11-01T00:00:00+08:00') }))).toBe(false);
  });

  it('applies every filter', () => {
    expect(matchesCampaign(ECM, event({ city: 'Guangzhou' }))).toBe(false);
    const jewellery = {
      ...ECM,
      filters: { districts: ['Luohu'], categories: ['jewellery'], platforms: ['douyin', 'taobao'] },
    };
    expect(matchesCampaign(jewellery, event())).toBe(true);
    expect(matchesCampaign(jewellery, event({ platform: 'jd' }))).toBe(false);
    expect(matchesCampaign(jewellery, event({ category: 'clothing' }))).toBe(false);
  });

  it('lists the campaign scopes of an event', () => {
    const m = new CampaignMatcher([
      ECM,
      {
        ...ECM,
        id: 'sept',
        startsAt: Date.parse('2024-09-01T00:00:00+08:00'),
        endsAt: Date.parse('2024-10-01T00:00:00+08:00'),
      },
      {
        ...ECM,
        id: 'later',
        startsAt: Date.parse('2025-01-01T00:00:00+08:00'),
        endsAt: Date.parse('2025-02-01T00:00:00+08:00'),
      },
    ]);
    expect(m.scopesFor(event())).toEqual(['campaign:ecm-2024', 'campaign:sept']);
    expect(m.scopesFor(event({ ts: Date.parse('2024-08-25T00:00:00+08:00') }))).toEqual(['campaign:ecm-2024']);
  });

  it('counts a matching event in the staging scope too while a backfill builds the figures aside', () => {
    const m = new CampaignMatcher([{ ...ECM, stagingScope: stagingScope(ECM.id, 'g1') }]);
    expect(m.scopesFor(event())).toEqual(['campaign:ecm-2024', 'campaign:ecm-2024@g1']);
    expect(m.scopesFor(event({ city: 'Guangzhou' }))).toEqual([]);
  });
});

describe('coverageOf', () => {
  it('changes with the window or the filters, not with name, targets, zone or the order of a filter list', () => {
    const c = { ...ECM, filters: { districts: ['Luohu', 'Futian'], categories: ['jewellery'] } };
    const same = coverageOf(c);
    expect(coverageOf({ ...c, name: 'x', targets: { views: 1 }, timeZone: 'UTC', version: 9 } as Campaign)).toBe(same);
    expect(coverageOf({ ...c, filters: { categories: ['jewellery'], districts: ['Futian', 'Luohu', 'Futian'] } })).toBe(
      same,
    );
    expect(coverageOf({ ...c, filters: { ...c.filters, platforms: [] } })).toBe(same); // an empty list filters nothing
    expect(coverageOf({ ...c, filters: { districts: ['Luohu'], categories: ['jewellery'] } })).not.toBe(same);
    expect(coverageOf({ ...c, filters: { cities: ['Luohu', 'Futian'], categories: ['jewellery'] } })).not.toBe(same);
    expect(coverageOf({ ...c, endsAt: c.endsAt - 60_000 })).not.toBe(same);
    expect(coverageOf({ ...c, startsAt: c.startsAt + 60_000 })).not.toBe(same);
  });
});

describe('validateCampaignInput', () => {
  it('accepts ISO times with offsets and fills defaults', () => {
    const r = validateCampaignInput({
      id: 'ecm-2024',
      name: ' E-commerce Month ',
      startsAt: '2024-08-23T00:00:00+08:00',
      endsAt: '2024-11-01T00:00:00+08:00',
      filters: { cities: ['Shenzhen', 'Shenzhen'] },
      targets: { gmvFen: 4_080_000_000_000 },
    });
    expect(r).toEqual({
      ok: true,
      value: {
        id: 'ecm-2024',
        name: 'E-commerce Month',
        startsAt: ECM.startsAt,
        endsAt: ECM.endsAt,
        timeZone: 'Asia/Shanghai',
        filters: { cities: ['Shenzhen'] },
        targets: { gmvFen: 4_080_000_000_000 },
      },
    });
  });

  it('reports every problem', () => {
    const r = validateCampaignInput({
      id: 'Bad Id',
      name: '',
      startsAt: '2024-08-23T00:00:00',
      endsAt: 60_000,
      timeZone: 'Mars/Olympus',
      filters: { planets: ['x'], districts: ["a'; DROP"] },
      targets: { gmvFen: -1 },
    });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors.map((e) => e.field)).toEqual([
        'id',
        'name',
        'startsAt',
        'endsAt',
        'timeZone',
        'filters.planets',
        'filters.districts',
        'targets.gmvFen',
      ]);
  });

  it('rejects an end before the start', () => {
    const r = validateCampaignInput({ id: 'x', name: 'x', startsAt: 10, endsAt: 5 });
    expect(r.ok).toBe(false);
  });
});
