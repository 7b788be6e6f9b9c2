import { describe, expect, it } from 'vitest';
import { scopeColumn, toEventRow } from './rows';

describe('toEventRow', () => {
  it('maps a sale onto the lt_events columns', () => {
    const row = toEventRow(
      {
        v: 1,
        type: 'sale',
        eventId: 'e',
        platform: 'p',
        streamId: 's',
        hostId: 'h',
        ts: 1725162000123,
        city: 'Shenzhen',
        district: 'Luohu',
        category: 'jewellery',
        orderId: 'o',
        sku: 'k',
        quantity: 2,
        amountFen: 999,
      },
      { topic: 'livetally.events', partition: 3, offset: '42' },
    );
    expect(row).toMatchObject({
      event_id: 'e',
      type: 'sale',
      ts: 1725162000123,
      quantity: 2,
      amount_fen: 999,
      viewer_id: '',
      kafka_partition: 3,
      kafka_offset: '42',
    });
  });

  it('knows which column a scope filters on', () => {
    expect(scopeColumn('host')).toBe('host_id');
    expect(scopeColumn('all')).toBeUndefined();
  });
});
