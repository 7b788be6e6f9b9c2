import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startChdbServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger().fatal({ problems: err.problems }, err.message);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  const server = await startChdbServer({ ...config, logger: log }).catch((err: unknown) => {
    log.fatal({ err }, 'chdb-server failed to start');
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal means the operator will not wait; queued writes may be lost.
      log.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.fatal({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
