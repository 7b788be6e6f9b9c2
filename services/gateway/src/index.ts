export { buildApp, DEFAULT_LIVE_OPTIONS, type GatewayDeps } from './app';
export { parseGatewayConfig, loadGatewayConfig, type GatewayConfig } from './config';
export { ERROR_CATALOGUE, GatewayError, errorBody, type ErrorCode, type ErrorBody } from './errors';
export { LiveHub, type LiveHubOptions } from './live/hub';
export { LocalOwnerQuota, type OwnerQuota, type QuotaVerdict } from './live/owner-quota';
export { RedisOwnerQuota, type RedisOwnerQuotaOptions } from './live/redis-owner-quota';
export { systemClock, type HubClock, type HubObserver, type Subscriber, type TotalsReader } from './live/types';
export { parseChannel, parseClientMessage, TOTALS_CHANNEL_PREFIX, type ClientMessage } from './live/protocol';
export type { LiveSocketOptions } from './live/socket-route';
export { GatewayMetrics } from './metrics';
export { startGateway, type RunningGateway, type StartOptions } from './server';
export { requireRole, allowAll, type Role, type RoleCheck } from './http/access';
export { EngineSqlPolicy, prepareStatement } from './http/sql-policy';
export { ClickHouseSqlRunner, createSqlClient, type SqlLimits } from './http/sql-runner';
export { judgeSqlUser } from './http/sql-user-check';
export { SQL_FORMATS, type CampaignApi, type HistoryReader, type SqlFormat, type SqlRunner } from './http/types';
export {
  mintToken,
  signToken,
  verifyToken,
  ROLES,
  type TokenClaims,
  type TokenKey,
  type VerifyResult,
} from './auth/token';
export { parseTokenSecrets } from './auth/keys';
export { scopeAllowed, checkScopePattern } from './auth/scopes';
export type { AuthSettings } from './auth/guard';
