import { describe, expect, it } from 'vitest';
import { VIEWER_SKETCHES, sketchRange } from './viewer-sketches';

const SHANGHAI_DAY = (iso: string) => Date.parse(`${iso}T00:00:00+08:00`);

describe('sketchRange', () => {
  const from = SHANGHAI_DAY('2024-08-23');
  const to = SHANGHAI_DAY('2024-11-01');

  it('answers a kept scope over whole Asia/Shanghai days', () => {
    expect(sketchRange({ kind: 'all' }, from, to)).toEqual({
      kind: 'all',
      value: '',
      fromS: from / 1000,
      toS: to / 1000,
    });
    expect(sketchRange({ kind: 'district', value: "Bao'an" }, from, to)).toMatchObject({
      kind: 'district',
      value: "Bao'an",
    });
    expect(
      sketchRange({ kind: 'city', value: 'Shenzhen' }, from, to, { granularity: 'day', timeZone: 'Asia/Shanghai' }),
    ).not.toBeNull();
  });

  it('leaves hosts, campaign filters, unaligned or empty ranges and other series to the rollups', () => {
    expect(sketchRange({ kind: 'host', value: 'h1' }, from, to)).toBeNull();
    expect(sketchRange({ kind: 'filters', districts: ['Futian'] }, from, to)).toBeNull();
    expect(sketchRange({ kind: 'all' }, from + 3_600_000, to)).toBeNull();
    expect(sketchRange({ kind: 'all' }, from, to - 60_000)).toBeNull();
    expect(sketchRange({ kind: 'all' }, from, to + 500)).toBeNull();
    expect(sketchRange({ kind: 'all' }, from, from)).toBeNull();
    expect(
      sketchRange({ kind: 'all' }, Date.parse('2024-09-02T00:00:00Z'), Date.parse('2024-09-06T00:00:00Z')),
    ).toBeNull();
    expect(sketchRange({ kind: 'all' }, from, to, { granularity: 'hour', timeZone: 'Asia/Shanghai' })).toBeNull();
    expect(sketchRange({ kind: 'all' }, from, to, { granularity: 'day', timeZone: 'UTC' })).toBeNull();
    // Before 1992 Asia/Shanghai had summer time: its days did not all start at 16:00 UTC.
    expect(sketchRange({ kind: 'all' }, SHANGHAI_DAY('1990-06-01'), SHANGHAI_DAY('1990-06-08'))).toBeNull();
  });

  it('counts viewers per day and scope kind from the rows that name one', () => {
    const sql = VIEWER_SKETCHES.select('ingested_at < now()');
    expect(sql).toContain("viewer_id != ''");
    expect(sql).toContain('AND (ingested_at < now())');
    expect(sql).toContain('uniqCombinedState(14)(viewer_id)');
  });
});
