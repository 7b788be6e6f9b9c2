import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_EXAMPLE_PATH, envExampleText } from '../infra/env-example/text';
import { ROOT } from './support/markdown';

/** .env.example is generated from the schemas; a schema changed without `npm run env:example` fails here. */
describe('.env.example', () => {
  it('is what npm run env:example writes from the services’ schemas', () => {
    const committed = readFileSync(join(ROOT, ENV_EXAMPLE_PATH), 'utf8');
    expect(committed, 'run `npm run env:example` and commit .env.example').toBe(envExampleText());
  });
});
