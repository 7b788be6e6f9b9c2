import { exitOnSignals } from '@livetally/lifecycle';
import { createLogger } from '@livetally/logging';
import { describeConfig, loadGatewayConfig } from './config';
import { startGateway } from './server';

const config = loadGatewayConfig();
const logger = createLogger({ service: 'gateway', level: config.logLevel });
logger.info({ config: describeConfig(config) }, 'starting gateway');
if (config.auth.mode === 'off')
  logger.warn(
    'GATEWAY_AUTH=off: every route and live channel is open to anyone who can reach the gateway (local demo only)',
  );

const gateway = await startGateway(config, logger, { keyPrefix: config.redisKeyPrefix }).catch((err: unknown) => {
  logger.fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
logger.info({ url: `${gateway.url}/` }, `dashboard: ${gateway.url}/`);

exitOnSignals({ stop: gateway.stop, logger, shutdownTimeoutMs: config.shutdownTimeoutMs });
