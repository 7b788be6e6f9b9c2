import { loadConfigOrExit } from '@livetally/config';
import { exitOnSignals } from '@livetally/lifecycle';
import { createLogger } from '@livetally/logging';
import { parseIngestConfig } from './config';
import { startIngest } from './server';

const config = loadConfigOrExit(() => parseIngestConfig(process.env));
const logger = createLogger({ service: 'ingest', level: config.logLevel });
// A fatal error has stopped the worker already; exiting non-zero lets a supervisor restart it.
const ingest = await startIngest(config, { logger, onFatal: () => process.exit(1) }).catch((err: unknown) => {
  logger.fatal({ err }, 'ingest failed to start');
  process.exit(1);
});
exitOnSignals({ stop: ingest.stop, logger, shutdownTimeoutMs: config.shutdownTimeoutMs });
