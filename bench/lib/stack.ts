import { resolve } from 'node:path';

// The bench runs against the same local stack as the integration tests, with the same helpers.
export { STACK, clickhouseEnv, freePort, uniqueName, waitFor } from '../../tests/support/stack';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
