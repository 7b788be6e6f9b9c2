export { buildCollectorApp, type CollectorDeps, type CollectorLimits } from './app';
export { ApiKeyring, checkApiKeys, parseApiKeyFile, parseApiKeyList, type ApiKeyEntry } from './api-keys';
export { classifyBatch, foreignPlatformIndexes, type EventResult, type EventStatus, type KafkaMessage } from './batch';
export { parseCollectorConfig, loadCollectorConfig, type CollectorConfig } from './config';
export { ERROR_CATALOGUE, CollectorError, errorBody, type ErrorCode, type ErrorBody } from './errors';
export {
  KafkaEventSink,
  RecordsTooLargeError,
  SinkUnavailableError,
  type EventSink,
  type ProducerLike,
} from './kafka-sink';
export { CollectorMetrics } from './metrics';
export type { IngestResponse } from './routes';
export { startCollector, type RunningCollector } from './server';
export { SharedPlatformLimiter, type PlatformLimiter } from './platform-limit';
