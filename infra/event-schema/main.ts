/**
 * Writes docs/event.schema.json, the event JSON Schema, from the event definition.
 *
 *   npm run event:schema
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EVENT_SCHEMA_DOC_PATH, eventSchemaDocText } from './text';

const HELP = `Usage: npm run event:schema

Writes ${EVENT_SCHEMA_DOC_PATH} (the event schema as JSON Schema 2020-12, the document the collector
serves at GET /v1/schema/event.json) from packages/events/src/fields.ts. Run it after changing an
event field or a limit; the tests fail until then.
`;

if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  process.stdout.write(HELP);
} else {
  const path = resolve(import.meta.dirname, '..', '..', EVENT_SCHEMA_DOC_PATH);
  writeFileSync(path, await eventSchemaDocText());
  process.stdout.write(`wrote ${path}\n`);
}
