import { createLogger } from '@livetally/logging';
import { loadCollectorConfig } from './config';
import { startCollector } from './server';

const config = loadCollectorConfig();
const logger = createLogger({ service: 'collector', level: config.logLevel });
// Platforms only: the keys themselves are never logged.
const { apiKeys, ...shown } = config;
logger.info(
  { config: { ...shown, platforms: [...new Set(apiKeys.map((k) => k.platform))].sort() } },
  'starting collector',
);

const collector = await startCollector(config, logger).catch((err: unknown) => {
  logger.fatal({ err }, 'collector failed to start');
  process.exit(1);
});
logger.info(
  { url: `${collector.url}/v1/events`, metrics: collector.metricsUrl },
  `collector listening on ${collector.url}`,
);

let exiting = false;
function shutdown(signal: NodeJS.Signals): void {
  if (exiting) return; // a second Ctrl-C must not start a second shutdown
  exiting = true;
  logger.info({ signal }, 'shutting down');
  // stop() has its own deadline; this one only catches a stop that hangs past it.
  setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5_000).unref();
  collector.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
