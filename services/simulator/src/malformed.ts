import type { LiveEvent, RejectReason } from '@livetally/events';

/** Broken variants of a valid event, each with the reason the pipeline must give. */
export const MALFORMED_KINDS: { reason: RejectReason; make(e: LiveEvent): string | Buffer }[] = [
  { reason: 'not_json', make: (e) => JSON.stringify(e).slice(0, -3) },
  { reason: 'not_object', make: (e) => JSON.stringify([e]) },
  { reason: 'unknown_type', make: (e) => JSON.stringify({ ...e, type: 'purchase' }) },
  { reason: 'unsupported_version', make: (e) => JSON.stringify({ ...e, v: 9 }) },
  { reason: 'missing_field', make: (e) => JSON.stringify({ ...e, hostId: undefined }) },
  { reason: 'wrong_type', make: (e) => JSON.stringify({ ...e, ts: String(e.ts) }) },
  {
    reason: 'out_of_range',
    make: (e) => JSON.stringify({ ...e, type: 'sale', orderId: 'o-bad', sku: 'x', quantity: 1, amountFen: -500 }),
  },
  {
    reason: 'not_integer',
    make: (e) => JSON.stringify({ ...e, type: 'sale', orderId: 'o-bad', sku: 'x', quantity: 1, amountFen: 19.99 }),
  },
  { reason: 'invalid_characters', make: (e) => JSON.stringify({ ...e, district: "Luohu'; DROP TABLE lt_events; --" }) },
  { reason: 'control_characters', make: (e) => JSON.stringify({ ...e, city: 'Shen\u0000zhen' }) },
  { reason: 'not_utf8', make: () => Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
];
