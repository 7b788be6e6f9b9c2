#!/usr/bin/env node
// `livetally`, the operator command line: its commands are TypeScript (infra/livetally/),
// run through this checkout's tsx like the npm scripts, from any directory.
import { register } from 'tsx/esm/api';

register();
await import('../infra/livetally/main.ts');
