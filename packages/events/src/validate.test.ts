import { describe, expect, it } from 'vitest';
import { decodeEvent, describeErrors, encodeEvent } from './codec';
import { LIMITS } from './limits';
import type { LiveEvent } from './types';
import { validateEvent } from './validate';

const NOW = Date.UTC(2024, 8, 1, 12, 0, 0);
const base = {
  v: 1,
  eventId: 'evt-1',
  platform: 'douyin',
  streamId: 's-1',
  hostId: 'h-42',
  ts: NOW - 1000,
  city: 'Shenzhen',
  district: "Bao'an",
  category: 'jewellery',
};
const sale = { ...base, type: 'sale', orderId: 'o-1', sku: 'sku-9', quantity: 2, amountFen: 129_900 };

function reasons(input: unknown): string[] {
  const r = validateEvent(input, { now: NOW });
  return r.ok ? [] : r.errors.map((e) => `${e.field}:${e.reason}`);
}

describe('validateEvent', () => {
  it('accepts each event type and drops unknown fields', () => {
    const events = [
      { ...base, type: 'stream_started', title: '水贝黄金专场' },
      { ...base, type: 'stream_ended' },
      { ...base, type: 'view', viewerId: 'v:abc123' },
      sale,
      { ...base, type: 'refund', orderId: 'o-1', amountFen: 500 },
    ];
    for (const e of events) {
      const r = validateEvent({ ...e, extra: 'ignored' }, { now: NOW });
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) {
        expect(r.event).toEqual(e);
        expect('extra' in r.event).toBe(false);
      }
    }
  });

  it('accepts a like with or without a count; without, it stands for one like', () => {
    const like = { ...base, type: 'like' };
    expect(validateEvent({ ...like, count: 25 }, { now: NOW })).toEqual({ ok: true, event: { ...like, count: 25 } });
    expect(validateEvent(like, { now: NOW })).toEqual({ ok: true, event: { ...like, count: 1 } });
    expect(validateEvent({ ...like, count: null }, { now: NOW })).toEqual({ ok: true, event: { ...like, count: 1 } });
  });

  it('rejects a like count that is not a positive integer within bounds', () => {
    const like = { ...base, type: 'like' };
    expect(reasons({ ...like, count: 0 })).toEqual(['count:out_of_range']);
    expect(reasons({ ...like, count: -2 })).toEqual(['count:out_of_range']);
    expect(reasons({ ...like, count: 2.5 })).toEqual(['count:not_integer']);
    expect(reasons({ ...like, count: '3' })).toEqual(['count:wrong_type']);
    expect(reasons({ ...like, count: LIMITS.maxLikeCount + 1 })).toEqual(['count:out_of_range']);
    expect(reasons({ ...like, count: LIMITS.maxLikeCount })).toEqual([]);
  });

  it('accepts a view with a count, without a viewer, or both; what was left out stays out', () => {
    const view = { ...base, type: 'view' };
    expect(validateEvent({ ...view, count: 250 }, { now: NOW })).toEqual({ ok: true, event: { ...view, count: 250 } });
    expect(validateEvent(view, { now: NOW })).toEqual({ ok: true, event: view });
    const named = { ...view, viewerId: 'v-1', count: 3 };
    expect(validateEvent(named, { now: NOW })).toEqual({ ok: true, event: named });
  });

  it('rejects a view count that is not a positive integer within bounds', () => {
    const view = { ...base, type: 'view' };
    expect(reasons({ ...view, count: 0 })).toEqual(['count:out_of_range']);
    expect(reasons({ ...view, count: 1.5 })).toEqual(['count:not_integer']);
    expect(reasons({ ...view, count: '9' })).toEqual(['count:wrong_type']);
    expect(reasons({ ...view, count: LIMITS.maxViewCount + 1 })).toEqual(['count:out_of_range']);
    expect(reasons({ ...view, count: LIMITS.maxViewCount })).toEqual([]);
    expect(reasons({ ...view, viewerId: '' })).toEqual(['viewerId:out_of_range']);
  });

  it('accepts Chinese dimension names', () => {
    expect(reasons({ ...sale, city: '深圳', district: '罗湖区', category: '珠宝首饰' })).toEqual([]);
  });

  it('rejects non-objects', () => {
    for (const v of [null, 42, 'x', [sale], true]) expect(reasons(v)).toEqual(['$:not_object']);
  });

  it('rejects a missing or unknown version', () => {
    const { v: _v, ...noVersion } = sale;
    expect(reasons(noVersion)).toEqual(['v:missing_field']);
    expect(reasons({ ...sale, v: 2 })).toEqual(['v:unsupported_version']);
    expect(reasons({ ...sale, v: '1' })).toEqual(['v:unsupported_version']);
  });

  it('rejects a missing or unknown type', () => {
    const { type: _t, ...noType } = sale;
    expect(reasons(noType)).toEqual(['type:missing_field']);
    expect(reasons({ ...sale, type: 'purchase' })).toEqual(['type:unknown_type']);
    expect(reasons({ ...sale, type: 7 })).toEqual(['type:unknown_type']);
  });

  it('reports every missing field at once', () => {
    expect(reasons({ v: 1, type: 'sale' })).toEqual([
      'eventId:missing_field',
      'platform:missing_field',
      'streamId:missing_field',
      'hostId:missing_field',
      'ts:missing_field',
      'city:missing_field',
      'district:missing_field',
      'category:missing_field',
      'orderId:missing_field',
      'sku:missing_field',
      'quantity:missing_field',
      'amountFen:missing_field',
    ]);
  });

  it('rejects mistyped fields', () => {
    expect(reasons({ ...sale, amountFen: '129900' })).toEqual(['amountFen:wrong_type']);
    expect(reasons({ ...sale, hostId: 42 })).toEqual(['hostId:wrong_type']);
    expect(reasons({ ...sale, ts: '2024-09-01' })).toEqual(['ts:wrong_type']);
    expect(reasons({ ...sale, city: null })).toEqual(['city:missing_field']);
    expect(reasons({ ...base, type: 'view', viewerId: { id: 1 } })).toEqual(['viewerId:wrong_type']);
  });

  it('rejects non-integer, negative and absurd money', () => {
    expect(reasons({ ...sale, amountFen: 12.5 })).toEqual(['amountFen:not_integer']);
    expect(reasons({ ...sale, amountFen: -1 })).toEqual(['amountFen:out_of_range']);
    expect(reasons({ ...sale, amountFen: LIMITS.maxAmountFen + 1 })).toEqual(['amountFen:out_of_range']);
    expect(reasons({ ...sale, amountFen: Infinity })).toEqual(['amountFen:wrong_type']);
    expect(reasons({ ...base, type: 'refund', orderId: 'o', amountFen: 0 })).toEqual(['amountFen:out_of_range']);
    expect(reasons({ ...sale, amountFen: 0 })).toEqual([]);
    expect(reasons({ ...sale, amountFen: LIMITS.maxAmountFen })).toEqual([]);
  });

  it('rejects a quantity of zero or less', () => {
    expect(reasons({ ...sale, quantity: 0 })).toEqual(['quantity:out_of_range']);
    expect(reasons({ ...sale, quantity: -3 })).toEqual(['quantity:out_of_range']);
    expect(reasons({ ...sale, quantity: 1.5 })).toEqual(['quantity:not_integer']);
  });

  it('rejects timestamps far in the future or before 2000', () => {
    expect(reasons({ ...sale, ts: NOW + LIMITS.maxFutureSkewMs + 1 })).toEqual(['ts:out_of_range']);
    expect(reasons({ ...sale, ts: Date.UTC(1999, 11, 31) })).toEqual(['ts:out_of_range']);
    expect(reasons({ ...sale, ts: NOW + LIMITS.maxFutureSkewMs })).toEqual([]);
    expect(reasons({ ...sale, ts: LIMITS.minTs })).toEqual([]);
  });

  it('rejects over-long strings', () => {
    expect(reasons({ ...sale, eventId: 'e'.repeat(LIMITS.maxIdLength + 1) })).toEqual(['eventId:too_long']);
    expect(reasons({ ...sale, district: 'd'.repeat(LIMITS.maxDimensionLength + 1) })).toEqual(['district:too_long']);
    expect(reasons({ ...base, type: 'stream_started', title: 't'.repeat(LIMITS.maxTitleLength + 1) })).toEqual([
      'title:too_long',
    ]);
  });

  it('counts characters as JSON Schema does: a character outside the BMP is one, not two UTF-16 units', () => {
    const title = (n: number) => ({ ...base, type: 'stream_started', title: '🎉'.repeat(n) });
    expect(reasons(title(LIMITS.maxTitleLength))).toEqual([]);
    const r = validateEvent(title(LIMITS.maxTitleLength + 1), { now: NOW });
    expect(r.ok ? [] : r.errors).toEqual([
      {
        field: 'title',
        reason: 'too_long',
        message: `title is ${LIMITS.maxTitleLength + 1} characters, at most 200 allowed`,
      },
    ]);
    expect(reasons({ ...sale, city: '𠀀'.repeat(LIMITS.maxDimensionLength) })).toEqual([]);
  });

  it('checks fields against the limits it is given', () => {
    const limits = { ...LIMITS, maxIdLength: 3, maxQuantity: 5 } as unknown as typeof LIMITS;
    const r = validateEvent({ ...sale, quantity: 6 }, { now: NOW, limits });
    expect(r.ok ? [] : r.errors.map((e) => `${e.field}:${e.reason}`)).toEqual([
      'eventId:too_long',
      'hostId:too_long',
      'sku:too_long',
      'quantity:out_of_range',
    ]);
    expect(reasons({ ...sale, quantity: 6 })).toEqual([]);
  });

  it('rejects control characters', () => {
    expect(reasons({ ...sale, city: 'Shen\u0000zhen' })).toEqual(['city:control_characters']);
    expect(reasons({ ...base, type: 'stream_started', title: 'line\nbreak' })).toEqual(['title:control_characters']);
    expect(reasons({ ...sale, hostId: 'h\u202842' })).toEqual(['hostId:control_characters']);
  });

  it('rejects values that look like SQL or key injection', () => {
    expect(reasons({ ...sale, district: "Luohu'; DROP TABLE events; --" })).toEqual(['district:invalid_characters']);
    expect(reasons({ ...sale, category: "x' OR 1=1" })).toEqual(['category:invalid_characters']);
    expect(reasons({ ...sale, hostId: 'h-1:all' })).toEqual(['hostId:invalid_characters']);
    expect(reasons({ ...sale, streamId: 's{1}' })).toEqual(['streamId:invalid_characters']);
    expect(reasons({ ...sale, city: '*' })).toEqual(['city:invalid_characters']);
    expect(reasons({ ...sale, platform: 'a b' })).toEqual(['platform:invalid_characters']);
  });

  it('rejects empty strings', () => {
    expect(reasons({ ...sale, city: '' })).toEqual(['city:missing_field']);
  });
});

describe('decodeEvent', () => {
  it('round-trips an encoded event', () => {
    const e = validateEvent(sale, { now: NOW });
    expect(e.ok).toBe(true);
    const event = (e as { event: LiveEvent }).event;
    expect(decodeEvent(encodeEvent(event), NOW)).toEqual({ ok: true, event });
  });

  it('classifies broken bytes', () => {
    const first = (b: Uint8Array | null) => {
      const r = decodeEvent(b, NOW);
      return r.ok ? 'ok' : r.errors[0]!.reason;
    };
    expect(first(null)).toBe('not_json');
    expect(first(Buffer.from('{"v":1,'))).toBe('not_json');
    expect(first(Buffer.from([0xff, 0xfe, 0x7b]))).toBe('not_utf8');
    expect(first(Buffer.from('[1,2]'))).toBe('not_object');
    expect(first(Buffer.alloc(LIMITS.maxEventBytes + 1, 0x20))).toBe('oversized');
  });

  it('describes errors on one line', () => {
    const r = decodeEvent(Buffer.from(JSON.stringify({ ...sale, quantity: 0 })), NOW);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(describeErrors(r.errors)).toBe('quantity: out_of_range (quantity must be between 1 and 100000, got 0)');
  });
});
