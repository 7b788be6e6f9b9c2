import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { route, type Invocation } from './commands';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The process a command runs: bash scripts from the repository, TypeScript through this checkout's tsx. */
function argvOf(invocation: Invocation): [string, string[]] {
  const script = resolve(ROOT, invocation.script);
  if (invocation.kind === 'bash') return ['bash', [script, ...invocation.args]];
  return [process.execPath, ['--import', import.meta.resolve('tsx'), script, ...invocation.args]];
}

/**
 * Runs the command's script in the caller's directory and environment, and exits with
 * its code. Ctrl-C reaches the script directly (same process group), so this process
 * only waits for it; a SIGTERM sent to this process alone is passed on.
 */
function run(invocation: Invocation): void {
  const [program, args] = argvOf(invocation);
  const child = spawn(program, args, { stdio: 'inherit' });
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.once('error', (err) => {
    process.stderr.write(`livetally: could not run ${invocation.script}: ${err.message}\n`);
    process.exit(3);
  });
  child.once('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
  });
}

const decision = route(process.argv.slice(2));
if (decision.kind === 'run') run(decision.invocation);
else {
  if (decision.problem) process.stderr.write(`${decision.problem}\n`);
  (decision.exitCode === 0 ? process.stdout : process.stderr).write(decision.text);
  process.exitCode = decision.exitCode;
}
