import { exitOnSignals } from '@livetally/lifecycle';
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

exitOnSignals({ stop: collector.stop, logger, shutdownTimeoutMs: config.shutdownTimeoutMs });
