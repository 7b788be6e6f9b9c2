import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerAnswers, startContainerStack } from './containers';
import { parseEnvFile, planStack } from './stack-plan';

/**
 * vitest globalSetup of the integration tests: picks the stack once (stack-plan.ts) and
 * puts its variables into the environment the test workers and the services they start
 * inherit. `npm test` names its native stack, so this only decides when a test file is
 * run on its own without the stack's variables.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const log = (message: string) => process.stderr.write(`[stack] ${message}\n`);

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const given = planStack(process.env, false);
  const plan = given.kind === 'given' ? given : planStack(process.env, await dockerAnswers());
  log(plan.reason);
  if (plan.kind === 'given') return undefined;
  if (plan.kind === 'native') {
    Object.assign(process.env, nativeStack());
    return undefined;
  }
  const stack = await startContainerStack(log);
  Object.assign(process.env, stack.env);
  execFileSync('node', ['--import', 'tsx', 'infra/create-topics.ts'], {
    cwd: ROOT,
    env: process.env,
    stdio: 'inherit',
  });
  return () => stack.stop();
}

/** infra/stack.sh's stack (started when it is not running), as the variables of its stack.env. */
function nativeStack(): Record<string, string> {
  execFileSync('bash', ['infra/stack.sh', 'up'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const file = join(ROOT, process.env.LT_DATA_DIR ?? '.data', 'stack.env');
  if (!existsSync(file)) throw new Error(`infra/stack.sh up wrote no ${file}`);
  return parseEnvFile(readFileSync(file, 'utf8'));
}
