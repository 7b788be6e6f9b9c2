import { LIMITS, type Limits } from './limits';
import {
  EVENT_TYPES,
  EVENT_VERSION,
  type EventType,
  type FieldError,
  type LiveEvent,
  type RejectReason,
} from './types';

// Identifiers end up inside Redis keys and ClickHouse rows: a small charset keeps
// key injection (":", "{", "*") and look-alike values out.
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const OPAQUE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
// Dimensions are human names ("Bao'an", "珠宝首饰"): letters of any script, digits,
// space and a little punctuation; nothing that reads as SQL or a key separator.
export const DIMENSION_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} '._-]*$/u;
// C0, DEL, C1 controls and the Unicode line/paragraph separators.

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

export interface ValidateOptions {
  /** Receiver's clock, ms; injected so validation stays pure. */
  now: number;
  limits?: Limits;
}

type Obj = Record<string, unknown>;

class Collector {
  readonly errors: FieldError[] = [];
  add(field: string, reason: RejectReason, message: string): void {
    this.errors.push({ field, reason, message });
  }
}

// Character classes as charCode scans (the regexes above stay the definition, the
// error text, and the judge of non-ASCII dimension values).
const CLEAN = 0;
const CONTROL = 1;
const INVALID = 2;

/** C0, DEL, C1 controls and U+2028/U+2029: what CONTROL_CHARS matches. */
function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Control characters anywhere win over a pattern mismatch, as in checkString's order. */
function scanControl(value: string): number {
  for (let i = 0; i < value.length; i++) if (isControl(value.charCodeAt(i))) return CONTROL;
  return CLEAN;
}

/** ID_PATTERN (opaque = false) or OPAQUE_ID_PATTERN (opaque = true). */
function scanId(value: string, opaque: boolean): number {
  let result = isAsciiAlnum(value.charCodeAt(0)) ? CLEAN : INVALID;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (
      isAsciiAlnum(c) ||
      c === 0x2e /* . */ ||
      c === 0x5f /* _ */ ||
      c === 0x2d /* - */ ||
      (opaque && c === 0x3a) /* : */
    )
      continue;
    if (isControl(c)) return CONTROL;
    result = INVALID;
  }
  return result;
}

/** DIMENSION_PATTERN; values with non-ASCII characters are judged by the regex itself. */
function scanDimension(value: string): number {
  let result = CLEAN;
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isAsciiAlnum(c)) continue;
    if (isControl(c)) return CONTROL;
    if (c >= 0x80) ascii = false;
    else if (i === 0 || (c !== 0x20 && c !== 0x27 /* ' */ && c !== 0x2e && c !== 0x5f && c !== 0x2d)) result = INVALID;
  }
  if (ascii || result === INVALID) return result;
  return DIMENSION_PATTERN.test(value) ? CLEAN : INVALID;
}

type Scan = (value: string) => number;
const scanIdentifier: Scan = (v) => scanId(v, false);
const scanOpaque: Scan = (v) => scanId(v, true);
const SCANS = new Map<RegExp | null, Scan>([
  [ID_PATTERN, scanIdentifier],
  [OPAQUE_ID_PATTERN, scanOpaque],
  [DIMENSION_PATTERN, scanDimension],
  [null, scanControl],
]);

function checkString(
  o: Obj,
  field: string,
  c: Collector,
  maxLen: number,
  pattern: RegExp | null,
  optional = false,
): string | undefined {
  const value = o[field];
  if (value === undefined || value === null) {
    if (!optional) c.add(field, 'missing_field', `${field} is required`);
    return undefined;
  }
  if (typeof value !== 'string') {
    c.add(field, 'wrong_type', `${field} must be a string, got ${describe(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    c.add(field, optional ? 'out_of_range' : 'missing_field', `${field} must not be empty`);
    return undefined;
  }
  if (value.length > maxLen) {
    c.add(field, 'too_long', `${field} is ${value.length} characters, at most ${maxLen} allowed`);
    return undefined;
  }
  const scan = SCANS.get(pattern);
  const verdict = scan
    ? scan(value)
    : CONTROL_CHARS.test(value)
      ? CONTROL
      : pattern && !pattern.test(value)
        ? INVALID
        : CLEAN;
  if (verdict === CONTROL) {
    c.add(field, 'control_characters', `${field} contains control characters`);
    return undefined;
  }
  if (verdict === INVALID) {
    c.add(field, 'invalid_characters', `${field} contains characters outside ${pattern!.source}`);
    return undefined;
  }
  return value;
}

function checkInteger(o: Obj, field: string, c: Collector, min: number, max: number): number | undefined {
  const value = o[field];
  if (value === undefined || value === null) {
    c.add(field, 'missing_field', `${field} is required`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    c.add(field, 'wrong_type', `${field} must be a number, got ${describe(value)}`);
    return undefined;
  }
  if (!Number.isInteger(value)) {
    c.add(field, 'not_integer', `${field} must be an integer, got ${value}`);
    return undefined;
  }
  if (value < min || value > max) {
    c.add(field, 'out_of_range', `${field} must be between ${min} and ${max}, got ${value}`);
    return undefined;
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Validates a parsed JSON value as a LiveTally event and returns a clean copy (unknown fields dropped). */
export function validateEvent(
  input: unknown,
  options: ValidateOptions,
): { ok: true; event: LiveEvent } | { ok: false; errors: FieldError[] } {
  const limits = options.limits ?? LIMITS;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      errors: [{ field: '$', reason: 'not_object', message: `event must be a JSON object, got ${describe(input)}` }],
    };
  }
  const o = input as Obj;
  if (o.v === undefined)
    return { ok: false, errors: [{ field: 'v', reason: 'missing_field', message: 'v is required' }] };
  if (o.v !== EVENT_VERSION) {
    return {
      ok: false,
      errors: [
        {
          field: 'v',
          reason: 'unsupported_version',
          message: `v must be ${EVENT_VERSION}, got ${JSON.stringify(o.v)}`,
        },
      ],
    };
  }
  if (typeof o.type !== 'string' || !TYPE_SET.has(o.type)) {
    const reason: RejectReason = o.type === undefined ? 'missing_field' : 'unknown_type';
    return {
      ok: false,
      errors: [
        {
          field: 'type',
          reason,
          message: `type must be one of ${EVENT_TYPES.join(', ')}, got ${JSON.stringify(o.type) ?? 'nothing'}`,
        },
      ],
    };
  }
  const type = o.type as EventType;
  const c = new Collector();
  const eventId = checkString(o, 'eventId', c, limits.maxIdLength, OPAQUE_ID_PATTERN);
  const platform = checkString(o, 'platform', c, limits.maxDimensionLength, ID_PATTERN);
  const streamId = checkString(o, 'streamId', c, limits.maxIdLength, ID_PATTERN);
  const hostId = checkString(o, 'hostId', c, limits.maxIdLength, ID_PATTERN);
  const ts = checkInteger(o, 'ts', c, limits.minTs, options.now + limits.maxFutureSkewMs);
  const city = checkString(o, 'city', c, limits.maxDimensionLength, DIMENSION_PATTERN);
  const district = checkString(o, 'district', c, limits.maxDimensionLength, DIMENSION_PATTERN);
  const category = checkString(o, 'category', c, limits.maxDimensionLength, DIMENSION_PATTERN);
  // One object literal per type, fields in the envelope's order (unknown fields dropped).
  let event: Obj;
  switch (type) {
    case 'stream_started': {
      const title = checkString(o, 'title', c, limits.maxTitleLength, null, true);
      event = { v: EVENT_VERSION, type, eventId, platform, streamId, hostId, ts, city, district, category };
      if (title !== undefined) event.title = title;
      break;
    }
    case 'stream_ended':
      event = { v: EVENT_VERSION, type, eventId, platform, streamId, hostId, ts, city, district, category };
      break;
    case 'view': {
      const viewerId = checkString(o, 'viewerId', c, limits.maxIdLength, OPAQUE_ID_PATTERN, true);
      const count =
        o.count === undefined || o.count === null ? undefined : checkInteger(o, 'count', c, 1, limits.maxViewCount);
      event = { v: EVENT_VERSION, type, eventId, platform, streamId, hostId, ts, city, district, category };
      // Left out when the sender left them out: a plain view stays as it was sent.
      if (viewerId !== undefined) event.viewerId = viewerId;
      if (count !== undefined) event.count = count;
      break;
    }
    case 'sale': {
      const orderId = checkString(o, 'orderId', c, limits.maxIdLength, OPAQUE_ID_PATTERN);
      const sku = checkString(o, 'sku', c, limits.maxIdLength, ID_PATTERN);
      const quantity = checkInteger(o, 'quantity', c, 1, limits.maxQuantity);
      const amountFen = checkInteger(o, 'amountFen', c, 0, limits.maxAmountFen);
      event = {
        v: EVENT_VERSION,
        type,
        eventId,
        platform,
        streamId,
        hostId,
        ts,
        city,
        district,
        category,
        orderId,
        sku,
        quantity,
        amountFen,
      };
      break;
    }
    case 'like': {
      const count = o.count === undefined || o.count === null ? 1 : checkInteger(o, 'count', c, 1, limits.maxLikeCount);
      event = { v: EVENT_VERSION, type, eventId, platform, streamId, hostId, ts, city, district, category, count };
      break;
    }
    case 'refund': {
      const orderId = checkString(o, 'orderId', c, limits.maxIdLength, OPAQUE_ID_PATTERN);
      const amountFen = checkInteger(o, 'amountFen', c, 1, limits.maxAmountFen);
      event = {
        v: EVENT_VERSION,
        type,
        eventId,
        platform,
        streamId,
        hostId,
        ts,
        city,
        district,
        category,
        orderId,
        amountFen,
      };
      break;
    }
  }
  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return { ok: true, event: event as unknown as LiveEvent };
}
