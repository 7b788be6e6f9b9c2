import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { eventJsonSchema } from '@livetally/events';

/** Where the file lives, from the repository root. */
export const EVENT_SCHEMA_DOC_PATH = 'docs/event.schema.json';

/** The text docs/event.schema.json must hold: the collector's schema, laid out as Prettier lays out JSON. */
export async function eventSchemaDocText(): Promise<string> {
  const path = resolve(import.meta.dirname, '..', '..', EVENT_SCHEMA_DOC_PATH);
  const options = await resolveConfig(path);
  return format(JSON.stringify(eventJsonSchema()), { ...options, filepath: path });
}
