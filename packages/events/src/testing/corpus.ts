import { TYPE_FIELDS, fieldsOf, type FieldRule } from '../fields';
import { LIMITS } from '../limits';
import { EVENT_TYPES, type EventType, type RejectReason } from '../types';

/** The receiver's clock the corpus is judged at. */
export const CORPUS_NOW = Date.UTC(2024, 8, 1, 12, 0, 0);

export interface CorpusCase {
  name: string;
  event: unknown;
  /** The validator's one error (field:reason), or null for a valid event. */
  expected: string | null;
  /** Refused only by a check JSON Schema cannot express (checksBeyondSchema). */
  beyondSchema?: true;
}

const ENVELOPE = {
  v: 1,
  eventId: 'dy-7f3a:000001',
  platform: 'douyin',
  streamId: 's-20240823-001',
  hostId: 'h-42',
  ts: CORPUS_NOW - 1000,
  city: 'Shenzhen',
  district: "Bao'an",
  category: 'jewellery',
};

const TYPICAL: Record<EventType, Record<string, unknown>> = {
  stream_started: { title: '水贝黄金专场 Gold live!' },
  stream_ended: {},
  view: { viewerId: 'v:9c1e', count: 250 },
  sale: { orderId: 'o-1', sku: 'sku-9', quantity: 2, amountFen: 129_900 },
  refund: { orderId: 'o-1', amountFen: 500 },
  like: { count: 12 },
};

const eventOf = (type: EventType, fields: Record<string, unknown> = TYPICAL[type]) => ({
  ...ENVELOPE,
  type,
  ...fields,
});

function limitOf(bound: number | keyof typeof LIMITS): number {
  return typeof bound === 'number' ? bound : LIMITS[bound];
}

/** A value of `length` characters in the rule's alphabet, the last one outside the BMP where allowed. */
function textOfLength(rule: FieldRule & { kind: 'text' }, length: number): string {
  if (rule.charset === 'dimension') return '深'.repeat(length - 1) + '𠀀';
  if (rule.charset === 'freeText') return 'T'.repeat(length - 1) + '🎉';
  return 'a'.repeat(length);
}

/** Values at each field's bounds: every one valid. */
function edgeCases(type: EventType): CorpusCase[] {
  const out: CorpusCase[] = [];
  for (const [field, rule] of fieldsOf(type)) {
    const values: [string, unknown][] = [];
    if (rule.kind === 'text') {
      const max = LIMITS[rule.maxLength];
      values.push(['one character', textOfLength(rule, 1)], [`${max} characters`, textOfLength(rule, max)]);
    } else {
      values.push([`minimum`, limitOf(rule.min)]);
      values.push(
        typeof rule.max === 'string'
          ? ['maximum', LIMITS[rule.max]]
          : ['latest allowed', CORPUS_NOW + LIMITS[rule.max.aheadOfNow]],
      );
    }
    if (rule.optional || (rule.kind === 'integer' && rule.default !== undefined))
      values.push(['left out', undefined], ['null', null]);
    for (const [what, value] of values) {
      const event: Record<string, unknown> = eventOf(type);
      if (value === undefined) delete event[field];
      else event[field] = value;
      out.push({ name: `${type} ${field} ${what}`, event, expected: null });
    }
  }
  return out;
}

/** Each of a field's rules broken once, the rest of the event valid. */
function brokenCases(type: EventType): CorpusCase[] {
  const out: CorpusCase[] = [];
  const required = (rule: FieldRule) => !rule.optional && !(rule.kind === 'integer' && rule.default !== undefined);
  for (const [field, rule] of fieldsOf(type)) {
    const broken: [string, unknown, RejectReason, true?][] = [];
    if (required(rule)) broken.push(['missing', undefined, 'missing_field'], ['null', null, 'missing_field']);
    if (rule.kind === 'text') {
      const max = LIMITS[rule.maxLength];
      broken.push(
        ['a number', 42, 'wrong_type'],
        ['an array', ['a'], 'wrong_type'],
        ['empty', '', rule.optional ? 'out_of_range' : 'missing_field'],
        ['too long', textOfLength(rule, max + 1), 'too_long'],
        ['with a control character', 'a\u0001b', 'control_characters'],
        ['with a line separator', 'a\u2028b', 'control_characters'],
      );
      if (rule.charset !== 'freeText') broken.push(['with a key separator', 'a*b{c}', 'invalid_characters']);
      if (rule.charset === 'id') broken.push(['with a colon', 'a:b', 'invalid_characters']);
      if (rule.charset === 'dimension') broken.push(['with SQL', "x' OR 1=1", 'invalid_characters']);
    } else {
      broken.push(
        ['a string', '3', 'wrong_type'],
        ['a boolean', true, 'wrong_type'],
        ['fractional', 1.5, 'not_integer'],
        ['below the minimum', limitOf(rule.min) - 1, 'out_of_range'],
      );
      if (typeof rule.max === 'string') broken.push(['above the maximum', LIMITS[rule.max] + 1, 'out_of_range']);
      else broken.push(['too far ahead', CORPUS_NOW + LIMITS[rule.max.aheadOfNow] + 1, 'out_of_range', true]);
    }
    for (const [what, value, reason, beyondSchema] of broken) {
      const event: Record<string, unknown> = eventOf(type);
      if (value === undefined) delete event[field];
      else event[field] = value;
      out.push({
        name: `${type} ${field} ${what}`,
        event,
        expected: `${field}:${reason}`,
        ...(beyondSchema ? { beyondSchema } : {}),
      });
    }
  }
  return out;
}

const { v: _v, ...noVersion } = eventOf('sale');
const { type: _t, ...noType } = eventOf('sale');

/**
 * Valid and invalid events for the validator and the JSON Schema alike: every type
 * typical, minimal and at each field's bounds; each field's rules broken once; the
 * envelope's version and type wrong. Built from the definition's fields and LIMITS, so a
 * new field or type brings its cases.
 */
export function eventCorpus(): CorpusCase[] {
  const valid: CorpusCase[] = EVENT_TYPES.flatMap((type) => [
    { name: `${type} typical`, event: eventOf(type), expected: null },
    {
      name: `${type} with only what it requires, and a field no type has`,
      event: eventOf(
        type,
        Object.fromEntries(
          Object.entries(TYPE_FIELDS[type] as Record<string, FieldRule>)
            .filter(([, rule]) => !rule.optional && !(rule.kind === 'integer' && rule.default !== undefined))
            .map(([field]) => [field, TYPICAL[type][field]])
            .concat([['extra', { any: ['thing'] }]]),
        ),
      ),
      expected: null,
    },
    ...edgeCases(type),
  ]);
  const envelope: CorpusCase[] = [
    { name: 'not an object: array', event: [eventOf('sale')], expected: '$:not_object' },
    { name: 'not an object: string', event: 'sale', expected: '$:not_object' },
    { name: 'not an object: null', event: null, expected: '$:not_object' },
    { name: 'version missing', event: noVersion, expected: 'v:missing_field' },
    { name: 'version 2', event: { ...eventOf('sale'), v: 2 }, expected: 'v:unsupported_version' },
    { name: 'version as a string', event: { ...eventOf('sale'), v: '1' }, expected: 'v:unsupported_version' },
    { name: 'type missing', event: noType, expected: 'type:missing_field' },
    { name: 'unknown type', event: { ...eventOf('sale'), type: 'purchase' }, expected: 'type:unknown_type' },
    { name: 'type as a number', event: { ...eventOf('sale'), type: 3 }, expected: 'type:unknown_type' },
    {
      name: "another type's field with a bad value is ignored",
      event: { ...eventOf('stream_ended'), count: 'many', amountFen: -5 },
      expected: null,
    },
  ];
  return [...valid, ...envelope, ...EVENT_TYPES.flatMap(brokenCases)];
}
