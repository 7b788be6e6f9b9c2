import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from '@livetally/logging';

export { completeSends, type CompleteSends, type CompleteSendsObserver } from './complete-send';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through the service's pino logger instead of its own console output. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      logger[LEVELS[level] ?? 'info']({ kafka: namespace, ...extra }, message);
    };
}

export function createKafka(
  options: { clientId: string; brokers: string[]; logger: Logger } & Partial<KafkaConfig>,
): Kafka {
  const { logger, ...config } = options;
  return new Kafka({
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
    retry: { initialRetryTime: 200, retries: 8 },
    ...config,
  });
}
