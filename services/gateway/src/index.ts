export { buildApp, DEFAULT_LIVE_OPTIONS, type GatewayDeps } from './app';
export { parseGatewayConfig, loadGatewayConfig, type GatewayConfig } from './config';
export { ERROR_CATALOGUE, GatewayError, errorBody, type ErrorCode, type ErrorBody } from './errors';
export { LiveHub, type LiveHubOptions } from './live/hub';
export { systemClock, type HubClock, type HubObserver, type Subscriber, type TotalsReader } from './live/types';
export { parseChannel, parseClientMessage, TOTALS_CHANNEL_PREFIX, type ClientMessage } from './live/protocol';
export type { LiveSocketOptions } from './live/socket-route';
export { GatewayMetrics } from './metrics';
export { startGateway, type RunningGateway, type StartOptions } from './server';
