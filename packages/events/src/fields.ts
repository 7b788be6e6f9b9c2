import type { Limits } from './limits';
import type { EventBase, EventType, LiveEvent } from './types';

/**
 * The one definition of an event's fields: for every field its kind, bounds, alphabet and
 * whether it may be left out. The validator (validate.ts) compiles its checks from it and
 * the published JSON Schema (json-schema.ts, docs/event.schema.json) is generated from it;
 * bounds name entries of LIMITS so that a validator given other limits follows them.
 * A new field or event type is an edit here (the compiler checks it against types.ts).
 */

// Identifiers end up inside Redis keys and ClickHouse rows: a small charset keeps
// key injection (":", "{", "*") and look-alike values out.
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const OPAQUE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
// Dimensions are human names ("Bao'an", "珠宝首饰"): letters of any script, digits,
// space and a little punctuation; nothing that reads as SQL or a key separator.
export const DIMENSION_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} '._-]*$/u;
// C0, DEL, C1 controls and the Unicode line/paragraph separators: refused in every text field.
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Free text: anything but CONTROL_CHARS (the same class, as a whole-value pattern). */
export const FREE_TEXT_PATTERN = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;

/** The alphabets of text fields; `pattern` null means free text (no control characters). */
export const CHARSETS = {
  id: { pattern: ID_PATTERN, description: 'ASCII letters and digits, then also . _ -' },
  opaqueId: { pattern: OPAQUE_ID_PATTERN, description: 'ASCII letters and digits, then also . _ : -' },
  dimension: {
    pattern: DIMENSION_PATTERN,
    description: "a letter (any script) or digit, then letters, digits, space and ' . _ -",
  },
  freeText: { pattern: null, description: 'any characters but control characters' },
} as const satisfies Record<string, { pattern: RegExp | null; description: string }>;
export type Charset = keyof typeof CHARSETS;

/** A number of LIMITS, by name. */
export type LimitName = keyof Limits;

export interface TextField {
  kind: 'text';
  charset: Charset;
  /** At most this many characters (Unicode code points, as JSON Schema counts them); never empty. */
  maxLength: LimitName;
  /** May be left out (or null); it is then left out of the validated event. */
  optional?: true;
  description: string;
}

export interface IntegerField {
  kind: 'integer';
  min: number | LimitName;
  /** A limit, or a limit ahead of the receiver's clock (`now` of the validator). */
  max: LimitName | { aheadOfNow: LimitName };
  optional?: true;
  /** May be left out (or null); the validated event then carries this value. */
  default?: number;
  description: string;
}

export type FieldRule = TextField | IntegerField;

type RuleFor<V> = NonNullable<V> extends string ? TextField : IntegerField;
/** Exactly the fields of E, each with a rule of its kind; optional in E exactly when optional here. */
type FieldsOf<E> = {
  [K in keyof E]-?: undefined extends E[K] ? RuleFor<E[K]> & { optional: true } : RuleFor<E[K]> & { optional?: never };
};
type EventOf<T extends EventType> = Extract<LiveEvent, { type: T }>;

/** Fields every event carries besides `v` and `type`, in the order events are written. */
export const ENVELOPE_FIELDS = {
  eventId: {
    kind: 'text',
    charset: 'opaqueId',
    maxLength: 'maxIdLength',
    description: "The sender's id of the event, unique per platform: a resend with the same eventId counts once",
  },
  platform: { kind: 'text', charset: 'id', maxLength: 'maxDimensionLength', description: 'Platform that sends it' },
  streamId: { kind: 'text', charset: 'id', maxLength: 'maxIdLength', description: 'The livestream; the Kafka key' },
  hostId: { kind: 'text', charset: 'id', maxLength: 'maxIdLength', description: 'The host of the stream' },
  ts: {
    kind: 'integer',
    min: 'minTs',
    max: { aheadOfNow: 'maxFutureSkewMs' },
    description: 'Event time, ms since the Unix epoch',
  },
  city: { kind: 'text', charset: 'dimension', maxLength: 'maxDimensionLength', description: 'City of the stream' },
  district: {
    kind: 'text',
    charset: 'dimension',
    maxLength: 'maxDimensionLength',
    description: 'District of the stream',
  },
  category: {
    kind: 'text',
    charset: 'dimension',
    maxLength: 'maxDimensionLength',
    description: 'Product category of the stream',
  },
} as const satisfies FieldsOf<Omit<EventBase, 'v' | 'type'>>;

const orderId = {
  kind: 'text',
  charset: 'opaqueId',
  maxLength: 'maxIdLength',
  description: "The platform's order id",
} as const;

/** Each event type's own fields, after the envelope's, in the order events are written. */
export const TYPE_FIELDS = {
  stream_started: {
    title: {
      kind: 'text',
      charset: 'freeText',
      maxLength: 'maxTitleLength',
      optional: true,
      description: 'Title of the stream',
    },
  },
  stream_ended: {},
  view: {
    viewerId: {
      kind: 'text',
      charset: 'opaqueId',
      maxLength: 'maxIdLength',
      optional: true,
      description: 'Opaque viewer id, hashed by the platform; events that name one feed the unique-viewer estimate',
    },
    count: {
      kind: 'integer',
      min: 1,
      max: 'maxViewCount',
      optional: true,
      description: 'How many views of the stream the event stands for (views per interval); 1 when left out',
    },
  },
  sale: {
    orderId,
    sku: { kind: 'text', charset: 'id', maxLength: 'maxIdLength', description: 'Product sold' },
    quantity: { kind: 'integer', min: 1, max: 'maxQuantity', description: 'Items sold' },
    amountFen: { kind: 'integer', min: 0, max: 'maxAmountFen', description: 'Paid amount in fen (CNY cents)' },
  },
  refund: {
    orderId,
    amountFen: { kind: 'integer', min: 1, max: 'maxAmountFen', description: 'Refunded amount in fen (CNY cents)' },
  },
  like: {
    count: {
      kind: 'integer',
      min: 1,
      max: 'maxLikeCount',
      default: 1,
      description: 'How many likes the event stands for (a batch of taps); 1 when left out',
    },
  },
} as const satisfies { [T in EventType]: FieldsOf<Omit<EventOf<T>, keyof EventBase>> };

/** A type's fields in the order they are checked and written: the envelope's, then its own. */
export function fieldsOf(type: EventType): [string, FieldRule][] {
  return [...Object.entries(ENVELOPE_FIELDS), ...Object.entries(TYPE_FIELDS[type])];
}

/** Characters as JSON Schema's maxLength counts them: code points (a surrogate pair is one). */
export function characterCount(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}
