import { describe, expect, it } from 'vitest';
import {
  DIMENSION_FIELDS,
  DIMENSION_KINDS,
  EVENT_TYPES,
  MEASURES,
  contributionsOf,
  viewerFieldOf,
  type LiveEvent,
} from '@livetally/events';
import { MEASURE_SELECT, ROLLUP_VIEW_QUERY, VIEWER_ROWS, measureSql, rollupColumnDefinition } from './counting-sql';
import { columnOf, toEventRow, type EventRow } from './rows';

const base = {
  v: 1 as const,
  eventId: 'e',
  platform: 'p',
  streamId: 's',
  hostId: 'h',
  ts: 1725162000123,
  city: 'Shenzhen',
  district: 'Luohu',
  category: 'jewellery',
};
/** One event of every type, every numeric field distinct so a wrong column shows. */
const SAMPLES: Record<LiveEvent['type'], LiveEvent> = {
  stream_started: { ...base, type: 'stream_started', title: 't' },
  stream_ended: { ...base, type: 'stream_ended' },
  view: { ...base, type: 'view', viewerId: 'v:1', count: 40 },
  sale: { ...base, type: 'sale', orderId: 'o', sku: 'k', quantity: 3, amountFen: 999 },
  refund: { ...base, type: 'refund', orderId: 'o', amountFen: 77 },
  like: { ...base, type: 'like', count: 12 },
};

describe('the counting rule in SQL', () => {
  it('writes each measure as counts and sums over the types that add to it', () => {
    // A view counts its `count` (the column's DEFAULT 1 stands for views sent without one, and rows from before it).
    expect(measureSql('views')).toBe("sumIf(count, type = 'view')");
    expect(measureSql('salesFen')).toBe("sumIf(amount_fen, type = 'sale')");
    expect(measureSql('items')).toBe("sumIf(quantity, type = 'sale')");
    expect(measureSql('likes')).toBe("sumIf(count, type = 'like')");
    for (const m of MEASURES) expect(MEASURE_SELECT).toContain(`${measureSql(m)} AS ${m}`);
    expect(VIEWER_ROWS).toEqual({ column: 'viewer_id', where: "type = 'view' AND viewer_id != ''" });
  });

  it('stores every field the rule reads in the column SQL reads it from', () => {
    for (const type of EVENT_TYPES) {
      const event = SAMPLES[type];
      const row = toEventRow(event, { topic: 't', partition: 0, offset: '0' });
      const read = (field: string) => row[columnOf(field) as keyof EventRow];
      const fields = [
        ...contributionsOf(type).flatMap((c) => (c.field === null ? [] : [c.field])),
        ...DIMENSION_KINDS.map((k) => DIMENSION_FIELDS[k]),
        ...(viewerFieldOf(type) ? [viewerFieldOf(type)!] : []),
      ];
      for (const field of fields) expect(read(field), `${type}.${field}`).toBe((event as never)[field]);
    }
    // A view that leaves out its count and viewer stores what the rule counts: one view, no viewer.
    const plain = toEventRow({ ...base, type: 'view' }, { topic: 't', partition: 0, offset: '0' });
    expect([plain.count, plain.viewer_id]).toEqual([1, '']);
  });

  it('gives the rollup a typed column and a view expression per measure', () => {
    expect(rollupColumnDefinition('sessionsEnded')).toBe('sessions_ended SimpleAggregateFunction(sum, UInt64)');
    expect(rollupColumnDefinition('refundsFen')).toBe('refunds_fen SimpleAggregateFunction(sum, Int64)');
    expect(ROLLUP_VIEW_QUERY).toContain("toInt64(sumIf(amount_fen, type = 'sale')) AS sales_fen");
    expect(ROLLUP_VIEW_QUERY).toContain("toUInt64(sumIf(count, type = 'view')) AS views");
    expect(ROLLUP_VIEW_QUERY).toContain("uniqStateIf(viewer_id, type = 'view' AND viewer_id != '') AS viewers");
  });
});
