import { spawn, type ChildProcess } from 'node:child_process';
import { serviceCommand } from '../../tests/support/processes';
import { ROOT } from './stack';

/**
 * Child processes of the bench: real service entry points (as npm start runs them) and
 * the bench's own worker scripts. Every child is killed when the bench exits, however
 * it exits.
 */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface Child {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | string>;
  running(): boolean;
  /** Signal, then SIGKILL after graceMs; resolves with the exit code or signal. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

function track(child: ChildProcess, keepLines = 400): Child {
  live.add(child);
  const chunks: string[] = [];
  const keep = (b: Buffer) => {
    chunks.push(b.toString());
    if (chunks.length > keepLines) chunks.splice(0, chunks.length - keepLines);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((res) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      res(code ?? signal ?? -1);
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid: child.pid!,
    output: () => chunks.join(''),
    exited,
    running,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) {
      if (running()) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Starts a service's real entry point as the start command does (serviceCommand) with LOG_LEVEL=warn. */
export function startService(name: 'ingest' | 'gateway', env: Record<string, string>, nodeArgs: string[] = []): Child {
  const child = spawn(...serviceCommand(name, nodeArgs), {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child);
}

export interface WorkerChild<M> extends Child {
  /** Messages the worker sent with process.send, in order. */
  messages: M[];
  send(message: unknown): void;
  /** Next message (after those already taken) that matches; bounded by timeoutMs. */
  next<T extends M>(match: (m: M) => m is T, timeoutMs: number, what: string): Promise<T>;
}

/** Starts a bench worker script (bench/workers/*.ts) with an IPC channel. */
export function startWorker<M extends { type: string }>(
  script: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): WorkerChild<M> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const base = track(child);
  const messages: M[] = [];
  const waiters = new Set<() => void>();
  child.on('message', (m) => {
    messages.push(m as M);
    for (const w of waiters) w();
  });
  let taken = 0;
  return {
    ...base,
    messages,
    // With a callback, a send that loses the race with the worker's exit (EPIPE) is passed to
    // it instead of being emitted as an 'error' nobody listens to, which ends the bench; the
    // exit itself is noticed by whoever waits for the worker.
    send: (message) => child.send(message as never, () => undefined),
    async next<T extends M>(match: (m: M) => m is T, timeoutMs: number, what: string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const check = () => {
          for (let i = taken; i < messages.length; i++) {
            const m = messages[i]!;
            if (match(m)) {
              taken = i + 1;
              done();
              resolve(m);
              return true;
            }
          }
          return false;
        };
        const onExit = () => {
          if (!check()) {
            done();
            reject(
              new Error(
                `${script} exited (${child.exitCode ?? child.signalCode}) before ${what}:\n${base.output().slice(-3000)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what} from ${script}:\n${base.output().slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        if (check()) return;
        waiters.add(check);
        child.once('exit', onExit);
      });
    },
  };
}

/** Stops the children together (signal, then SIGKILL after graceMs); each one's exit code or signal, by name. */
export async function stopChildren(
  children: ReadonlyMap<string, Child>,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 30_000,
): Promise<Record<string, number | string>> {
  const entries = [...children];
  const codes = await Promise.all(entries.map(([, child]) => child.stop(signal, graceMs)));
  return Object.fromEntries(entries.map(([name], i) => [name, codes[i]!]));
}

/**
 * A clean-up step for data that children write: it stops every child first (also those
 * added after this call) and only then deletes, so that no producer or worker still
 * running writes keys, rows or messages again after the delete, on Ctrl-C as at the end.
 */
export function stopThenDelete(
  children: ReadonlyMap<string, Child>,
  deleteData: () => Promise<unknown>,
  log: (message: string) => void,
  graceMs = 20_000,
): () => Promise<void> {
  return async () => {
    const running = [...children].filter(([, child]) => child.running()).map(([name]) => name);
    if (running.length) log(`clean-up: stopping ${running.join(', ')}`);
    const codes = await stopChildren(children, 'SIGTERM', graceMs);
    const still = [...children].filter(([, child]) => child.running()).map(([name]) => name);
    if (still.length) throw new Error(`clean-up: ${still.join(', ')} still running; the run's data is kept`);
    if (running.length)
      log(
        `clean-up: stopped (${Object.entries(codes)
          .map(([name, code]) => `${name} ${code}`)
          .join(', ')}); deleting the run's data`,
      );
    await deleteData();
    log(`clean-up: the run's data deleted`);
  };
}
