import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node <args>` to completion, bounded by a timeout, with its output; `onStderr` sees stderr as it comes. */
function runNode(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
  onStderr?: (text: string) => void,
): Promise<CliResult> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    onStderr?.(b.toString());
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((res) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? signal ?? -1, stdout, stderr, ms: Math.round(performance.now() - started) });
    }),
  );
}

/** Runs an operator command (`npm run <name>`'s entry point) to completion, bounded by a timeout (then SIGKILL). */
export function runCli(
  name: 'reconcile' | 'rebuild',
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
  onStderr?: (text: string) => void,
): Promise<CliResult> {
  return runNode(['--import', 'tsx', `services/ingest/src/cli/${name}.ts`, ...args], env, ROOT, timeoutMs, onStderr);
}

/** Runs the `livetally` command line (bin/livetally.mjs) to completion, from `cwd` (default: the repository). */
export function runLivetally(
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return runNode(
    [resolve(ROOT, 'bin', 'livetally.mjs'), ...args],
    env,
    options.cwd ?? ROOT,
    options.timeoutMs ?? 120_000,
  );
}
