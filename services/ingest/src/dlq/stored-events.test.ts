import { describe, expect, it } from 'vitest';
import { eventKeyOf, sameEvent } from './stored-events';

describe('eventKeyOf', () => {
  it('takes platform, eventId and time from an original that parses as an event', () => {
    const value = Buffer.from('{"v":1,"type":"view","eventId":"e-1","platform":"douyin","ts":1725000000000,"extra":1}');
    expect(eventKeyOf(value)).toEqual({ platform: 'douyin', eventId: 'e-1', ts: 1_725_000_000_000 });
  });

  it('is null for originals that cannot count however they are replayed', () => {
    for (const raw of [
      '{oops',
      '[]',
      'null',
      '{"platform":"douyin","ts":1}',
      '{"platform":"d","eventId":"e","ts":1.5}',
    ])
      expect(eventKeyOf(Buffer.from(raw)), raw).toBeNull();
    expect(eventKeyOf(Buffer.from([0xff, 0xfe]))).toBeNull();
  });
});

describe('sameEvent', () => {
  it('is the same for one event at any time within its hour, as the resend deduplication judges', () => {
    const at = (ts: number) => sameEvent({ platform: 'douyin', eventId: 'e-1', ts });
    expect(at(3_600_000)).toBe(at(7_199_999));
    expect(at(3_600_000)).not.toBe(at(7_200_000));
    expect(at(3_600_000)).not.toBe(sameEvent({ platform: 'kuaishou', eventId: 'e-1', ts: 3_600_000 }));
  });
});
