import type { Logger } from '@livetally/logging';

/**
 * How every service stops: the graceful steps, bounded by the service's
 * <SERVICE>_SHUTDOWN_TIMEOUT_MS. Past it, `force` drops whatever is left (sockets,
 * client connections) and the stop rejects, so a stuck dependency never holds a
 * shutdown, and the caller still hears that it was not clean.
 */
export async function stopWithin(timeoutMs: number, graceful: () => Promise<void>, force: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), timeoutMs)));
  const outcome = await Promise.race([graceful().then(() => 'done' as const), expired]).finally(() =>
    clearTimeout(timer),
  );
  if (outcome === 'expired') {
    force();
    throw new Error(`shutdown took longer than ${timeoutMs} ms; connections dropped`);
  }
}

/** Beyond the service's own deadline, how long a hanging stop() may take before the process exits anyway. */
export const EXIT_BACKSTOP_MS = 5_000;

/**
 * A service process's signal handling: the first SIGTERM or SIGINT runs `stop` once (a
 * second Ctrl-C does not start a second shutdown) and exits 0 if it finished cleanly, 1
 * otherwise. stop() keeps its own deadline; the backstop only catches a stop that hangs
 * past it, so an orchestrator is never left waiting.
 */
export function exitOnSignals(options: { stop: () => Promise<void>; logger: Logger; shutdownTimeoutMs: number }): void {
  const { stop, logger, shutdownTimeoutMs } = options;
  let exiting = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ deadlineMs: shutdownTimeoutMs }, 'shutdown deadline passed; exiting anyway');
      process.exit(1);
    }, shutdownTimeoutMs + EXIT_BACKSTOP_MS).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
