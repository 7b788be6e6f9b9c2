export { createLiveTallyClient, type ClientOptions, type ClientTuning, type LiveTallyClient } from './client';
export { HttpTransport, type HttpTransportOptions } from './http-transport';
export { KafkaTransport, type KafkaTransportOptions } from './kafka-transport';
export { retryDelayMs, parseRetryAfter, type BackoffOptions } from './backoff';
export {
  systemScheduler,
  type BatchResponse,
  type EventInput,
  type EventOutcome,
  type EventResult,
  type FailedOutcome,
  type FlushReport,
  type Scheduler,
  type Transport,
} from './types';
// The event types a platform builds and gets back in outcomes (bundled into the published build).
export type { EventType, FieldError, LiveEvent, RejectReason } from '@livetally/events';
