import { Ajv2020 } from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_ID, checksBeyondSchema, eventJsonSchema } from './json-schema';
import { LIMITS } from './limits';
import { CORPUS_NOW, eventCorpus } from './testing/corpus';
import { EVENT_TYPES } from './types';
import { validateEvent } from './validate';

const ajv = new Ajv2020({ strict: true, allErrors: true });
const schemaAccepts = ajv.compile(eventJsonSchema());
const corpus = eventCorpus();

function validatorSays(event: unknown): string | null {
  const r = validateEvent(event, { now: CORPUS_NOW });
  return r.ok ? null : r.errors.map((e) => `${e.field}:${e.reason}`).join(', ');
}

describe('the event JSON Schema', () => {
  it('is a draft 2020-12 schema ajv compiles in strict mode', () => {
    const schema = eventJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(EVENT_SCHEMA_ID);
    expect(Object.keys(schema.$defs as object)).toEqual([...EVENT_TYPES]);
  });

  it('the corpus holds valid and invalid events of every type, every rejection reason a field can have', () => {
    const reasons = new Set(corpus.flatMap((c) => (c.expected ? [c.expected.split(':')[1]] : [])));
    expect([...reasons].sort()).toEqual(
      [
        'control_characters',
        'invalid_characters',
        'missing_field',
        'not_integer',
        'not_object',
        'out_of_range',
        'too_long',
        'unknown_type',
        'unsupported_version',
        'wrong_type',
      ].sort(),
    );
    for (const type of EVENT_TYPES) {
      const ofType = corpus.filter((c) => (c.event as { type?: unknown } | null)?.type === type);
      expect(ofType.some((c) => c.expected === null) && ofType.some((c) => c.expected !== null), type).toBe(true);
    }
  });

  it.each(corpus.map((c) => [c.name, c] as const))('%s: the validator and the schema agree', (_name, c) => {
    expect(validatorSays(c.event)).toBe(c.expected);
    const accepted = schemaAccepts(c.event);
    // A check the schema cannot express is the only way they may differ: the validator refuses, the schema accepts.
    const schemaShouldAccept = c.expected === null || c.beyondSchema === true;
    expect(accepted, JSON.stringify(schemaAccepts.errors)).toBe(schemaShouldAccept);
    if (!accepted && c.expected !== null && c.expected.split(':')[0] !== '$') {
      const field = c.expected.split(':')[0]!;
      const paths = schemaAccepts.errors!.map((e) => `${e.instancePath}/${e.params.missingProperty ?? ''}`);
      expect(
        paths.some((p) => p.startsWith(`/${field}`)),
        JSON.stringify(paths),
      ).toBe(true);
    }
  });

  it('names the checks it cannot express, each once in its description', () => {
    const description = eventJsonSchema().description as string;
    for (const check of checksBeyondSchema()) expect(description).toContain(check);
    expect(checksBeyondSchema().join(' ')).toContain("Kafka record's timestamp");
  });

  it('follows the limits it is given', () => {
    const limits = { ...LIMITS, maxQuantity: 5 } as unknown as typeof LIMITS;
    const strict = new Ajv2020().compile(eventJsonSchema(limits));
    const sale = corpus.find((c) => c.name === 'sale typical')!.event as object;
    expect(strict({ ...sale, quantity: 5 })).toBe(true);
    expect(strict({ ...sale, quantity: 6 })).toBe(false);
  });
});
