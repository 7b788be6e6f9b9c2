/**
 * Writes .env.example from the services' configuration schemas.
 *
 *   npm run env:example
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENV_EXAMPLE_PATH, envExampleText } from './text';

const HELP = `Usage: npm run env:example

Writes ${ENV_EXAMPLE_PATH} (every variable of every service, commented out with its default and
description) from services/*/src/config.ts. Run it after changing a schema; the tests fail until then.
`;

if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  process.stdout.write(HELP);
} else {
  const path = resolve(import.meta.dirname, '..', '..', ENV_EXAMPLE_PATH);
  writeFileSync(path, envExampleText());
  process.stdout.write(`wrote ${path}\n`);
}
