import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export type ServiceName = 'ingest' | 'gateway' | 'collector';

/**
 * How the start command runs a service (program, arguments; cwd the repo root): ingest
 * through its launcher, which holds the worker's Node flags, the others directly.
 * `nodeArgs` are extra Node flags (the bench's --cpu-prof).
 */
export function serviceCommand(name: ServiceName, nodeArgs: readonly string[] = []): [string, string[]] {
  if (name === 'ingest') return ['bash', ['services/ingest/bin/worker.sh', ...nodeArgs]];
  return [process.execPath, [...nodeArgs, '--import', 'tsx', `services/${name}/src/main.ts`]];
}

/** Starts a service's real entry point, as the start command does. */
export function startService(name: ServiceName, env: Record<string, string>): ServiceProcess {
  const child = spawn(...serviceCommand(name), {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  const keep = (b: Buffer) => {
    chunks.push(b.toString());
    if (chunks.length > 400) chunks.splice(0, chunks.length - 400);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  return {
    child,
    output: () => chunks.join(''),
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
