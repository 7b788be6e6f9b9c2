import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_DOC_PATH, eventSchemaDocText } from '../infra/event-schema/text';
import { ROOT } from './support/markdown';

/** docs/event.schema.json is generated from the event definition; a change without `npm run event:schema` fails here. */
describe('docs/event.schema.json', () => {
  const committed = readFileSync(join(ROOT, EVENT_SCHEMA_DOC_PATH), 'utf8');

  it('is what npm run event:schema writes from the event definition', async () => {
    expect(committed, 'run `npm run event:schema` and commit docs/event.schema.json').toBe(await eventSchemaDocText());
  });

  it('is a JSON Schema 2020-12 document that checks an event', () => {
    const validate = new Ajv2020({ strict: true }).compile(JSON.parse(committed) as object);
    const view = {
      v: 1,
      type: 'view',
      eventId: 'dy-7f3a-000001',
      platform: 'douyin',
      streamId: 's-20240823-001',
      hostId: 'h-42',
      ts: 1724400000000,
      city: 'Shenzhen',
      district: 'Futian',
      category: 'jewellery',
      viewerId: 'v-9c1e',
    };
    expect(validate(view)).toBe(true);
    expect(validate({ ...view, count: 0 })).toBe(false);
  });
});
