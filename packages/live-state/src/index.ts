export * from './totals';
export * from './keys';
export {
  RedisCounterStore,
  type ApplyBatchInput,
  type ApplyOutcome,
  type CounterStoreObserver,
  type PartitionTakeover,
  sumShares,
} from './redis-store';
export {
  decodeChangedScopes,
  encodeChangedScopes,
  subscribeToChanges,
  type ChangeFeedOptions,
  type ChangeSubscription,
} from './changes';
export {
  DedupStateMissingError,
  EventDeduplicator,
  fingerprint,
  ownerOf,
  type ClaimFence,
  type ClaimInput,
  type DedupOptions,
} from './dedup';
export {
  LiveStateStore,
  LiveStateNotReadyError,
  LIVE_STATE_GATE,
  liveStateError,
  type LiveStatus,
  type LiveSnapshot,
  type MarkOutcome,
  type NotReadyReason,
  type RawTotals,
  type RebuiltState,
  type RebuiltWriteOutcome,
  type CatalogueKeys,
} from './live-state';
export { LiveMeasureWriter, type MinuteBucket, type RankEntry } from './live-restore';
export { encodeHyperLogLog, HLL_REGISTERS, HLL_MAX_RANK, HLL_SPARSE_MAX_BYTES } from './hyperloglog';
export {
  comparePartitions,
  compareTotals,
  differingPartitions,
  exactTotals,
  formatComparison,
  scopeKind,
  type Comparison,
  type ExactTotals,
  type FieldDifference,
  type PartitionDifference,
  type ScopeDifference,
} from './reconcile';
export {
  liveKeys,
  RANK_DIMENSIONS as LIVE_RANK_DIMENSIONS,
  RANK_MEASURES as LIVE_RANK_MEASURES,
  MINUTE_BUCKET_TTL_SECONDS,
  type LiveKeys,
  type LiveKeySpace,
  type LiveRankDimension,
  type LiveRankMeasure,
} from './live-keys';
export {
  BatchPlanner,
  encodeLivePlan,
  type BatchPlannerOptions,
  type EncodedLivePlan,
  type LivePlan,
} from './live-plan';
export {
  LiveStateReader,
  sumTotals,
  windowsOf,
  type LiveMeasures,
  type MinutePoint,
  type Windows,
  type Ranking,
} from './live-reader';
export { MinuteWindowCache, type WindowReadKind } from './live-window-cache';
export { NotDurableError, waitUntilDurable } from './durable';
export {
  CampaignStaging,
  oldestKeptMinute,
  RETIRE_GRACE_MS,
  type CampaignCut,
  type CampaignSwap,
  type CampaignLease,
  type CampaignStagingKeys,
  type StagedHistory,
  type StagedScope,
} from './campaign-staging';
export { campaignLivePointerKey, generationScope, logicalScope, resolveLiveScopes } from './campaign-scopes';
export { adoptGroupOffsets } from './upgrade';
export { raiseCatalogueCopies } from './catalogue-copies';
export { CampaignCatalogueRedis, campaignKeys, type CampaignKeys, type CatalogueEntry } from './campaign-catalogue';
export { countUniqueAcross, type UniqueAcrossOptions } from './cluster/unique-across';
export {
  SummedLeaderboard,
  redisDescending,
  type SummedEntry,
  type TopKOptions,
  type TopKResult,
} from './cluster/top-k-across';
export type { AnyRedis } from './cluster/redis-client';
export {
  createRedisClient,
  isClusterTarget,
  parseClusterNode,
  type RedisClientOptions,
  type RedisTarget,
} from './cluster/connect';
export { hashTagOf, readGrouped, type KeyedRead } from './cluster/grouped-pipeline';
export {
  subscribeSharded,
  type ShardedSubscription,
  type ShardedSubscriptionHandlers,
  type ShardedSubscriptionOptions,
} from './cluster/sharded-subscription';
