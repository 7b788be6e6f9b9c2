import {
  CHARSETS,
  ENVELOPE_FIELDS,
  FREE_TEXT_PATTERN,
  TYPE_FIELDS,
  type FieldRule,
  type IntegerField,
  type TextField,
} from './fields';
import { LIMITS, type Limits } from './limits';
import { EVENT_TYPES, EVENT_VERSION } from './types';

/** The schema's $id: its version is the envelope's. */
export const EVENT_SCHEMA_ID = `urn:livetally:event:v${EVENT_VERSION}`;

/**
 * What the validator checks that JSON Schema cannot say: bounds judged against the
 * receiver's clock and the encoded size. Listed in the schema's description and the docs.
 */
export function checksBeyondSchema(limits: Limits = LIMITS): string[] {
  const minutes = limits.maxFutureSkewMs / 60_000;
  return [
    `ts at most ${minutes} minutes (${limits.maxFutureSkewMs} ms) ahead of the receiver's clock: the collector's clock when it receives the event, or, for events produced to Kafka directly, the Kafka record's timestamp (the ingest workers judge every event against its record's); the lower bound (${limits.minTs}, 2000-01-01) is in the schema`,
    `the encoded event (JSON, UTF-8) at most ${limits.maxEventBytes} bytes`,
  ];
}

type JsonSchema = Record<string, unknown>;

function textSchema(rule: TextField, limits: Limits): JsonSchema {
  const { pattern, description } = CHARSETS[rule.charset];
  return {
    type: rule.optional ? ['string', 'null'] : 'string',
    description: `${rule.description}. ${capitalised(description)}; 1 to ${limits[rule.maxLength]} characters.`,
    minLength: 1,
    maxLength: limits[rule.maxLength],
    pattern: (pattern ?? FREE_TEXT_PATTERN).source,
  };
}

function integerSchema(rule: IntegerField, limits: Limits): JsonSchema {
  const min = typeof rule.min === 'number' ? rule.min : limits[rule.min];
  const leftOut = rule.optional || rule.default !== undefined;
  const bounds =
    typeof rule.max === 'string'
      ? `${min} to ${limits[rule.max]}`
      : `at least ${min}, at most ${limits[rule.max.aheadOfNow]} ms ahead of the receiver's clock (not checkable here)`;
  return {
    type: leftOut ? ['integer', 'null'] : 'integer',
    description: `${rule.description}. Integer, ${bounds}.`,
    minimum: min,
    ...(typeof rule.max === 'string' ? { maximum: limits[rule.max] } : {}),
    ...(rule.default !== undefined ? { default: rule.default } : {}),
  };
}

function fieldSchema(rule: FieldRule, limits: Limits): JsonSchema {
  return rule.kind === 'text' ? textSchema(rule, limits) : integerSchema(rule, limits);
}

function objectOf(fields: Record<string, FieldRule>, limits: Limits): JsonSchema {
  const entries = Object.entries(fields);
  return {
    type: 'object',
    required: entries.filter(([, rule]) => !rule.optional && !('default' in rule)).map(([name]) => name),
    properties: Object.fromEntries(entries.map(([name, rule]) => [name, fieldSchema(rule, limits)])),
  };
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The event schema as JSON Schema (draft 2020-12), generated from the definition the
 * validator compiles (fields.ts): served by the collector at GET /v1/schema/event.json and
 * written to docs/event.schema.json. An event it refuses the validator refuses with the
 * same field; the validator refuses more only for checksBeyondSchema (the tests run both
 * over a corpus to hold this).
 */
export function eventJsonSchema(limits: Limits = LIMITS): JsonSchema {
  const envelope = objectOf(ENVELOPE_FIELDS, limits);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: EVENT_SCHEMA_ID,
    title: 'LiveTally event',
    description: [
      `One live event, as platforms send it to the collector (POST /v1/events) or produce it to Kafka. Every event has v, type and the envelope's fields; each type adds its own ($defs).`,
      'Fields not listed are ignored (and dropped). An optional field that is null is the same as one left out.',
      `Lengths count characters (Unicode code points). Checked as well, and not expressible in JSON Schema: ${checksBeyondSchema(limits).join('; ')}.`,
    ].join(' '),
    type: 'object',
    required: ['v', 'type', ...(envelope.required as string[])],
    properties: {
      v: { const: EVENT_VERSION, description: 'Version of the envelope' },
      type: { enum: [...EVENT_TYPES], description: 'What happened; each type adds the fields of its $defs entry' },
      ...(envelope.properties as JsonSchema),
    },
    allOf: EVENT_TYPES.map((type) => ({
      if: { type: 'object', properties: { type: { const: type } }, required: ['type'] },
      then: { $ref: `#/$defs/${type}` },
    })),
    $defs: Object.fromEntries(
      EVENT_TYPES.map((type) => [
        type,
        { description: `The fields a ${type} event adds`, ...objectOf(TYPE_FIELDS[type], limits) },
      ]),
    ),
  };
}
