import { renderEnvExample, type EnvSection } from '@livetally/config';
import { COLLECTOR_ENV } from '../../services/collector/src/config';
import { GATEWAY_ENV } from '../../services/gateway/src/config';
import { INGEST_ENV } from '../../services/ingest/src/config';
import { SIMULATOR_ENV } from '../../services/simulator/src/config';

/** Where the file lives, from the repository root. */
export const ENV_EXAMPLE_PATH = '.env.example';

const HEADER = [
  'LiveTally: every environment variable each service reads, with its default. Generated from the',
  'services’ configuration schemas (services/*/src/config.ts) by `npm run env:example`: do not edit by hand;',
  'tests/env-example.test.ts fails when it is out of step. Every line is commented out, so a copy changes',
  'nothing until a line is uncommented; a variable several services read is listed under each.',
  'docs/configuration.md says more, and lists the operator commands’ and scripts’ variables too.',
].join(' ');

const SECTIONS: EnvSection[] = [
  { title: 'ingest workers (services/ingest)', reference: INGEST_ENV },
  { title: 'gateway (services/gateway)', reference: GATEWAY_ENV },
  { title: 'collector (services/collector)', reference: COLLECTOR_ENV },
  { title: 'simulator (services/simulator)', reference: SIMULATOR_ENV },
];

/** The text .env.example must hold for the schemas as they are. */
export function envExampleText(): string {
  return renderEnvExample(HEADER, SECTIONS);
}
