import { createLogger } from '@livetally/logging';
import { describeConfig, loadGatewayConfig } from './config';
import { startGateway } from './server';

// After this long a stuck shutdown gives up and exits non-zero, so an orchestrator is never left waiting.
const SHUTDOWN_DEADLINE_MS = 10_000;

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

let exiting = false;
function shutdown(signal: NodeJS.Signals): void {
  if (exiting) return; // a second Ctrl-C must not start a second shutdown
  exiting = true;
  logger.info({ signal }, 'shutting down');
  setTimeout(() => {
    logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown deadline passed; exiting anyway');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  gateway.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
