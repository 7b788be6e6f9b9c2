export * from './totals';
export * from './keys';
export { RedisCounterStore, type ApplyBatchInput, type ApplyOutcome, type CounterStoreObserver } from './redis-store';
export { subscribeToChanges, type ChangeSubscription } from './changes';
export { EventDeduplicator, fingerprint, ownerOf, type ClaimInput, type DedupOptions } from './dedup';
export { liveKeys, RANK_DIMENSIONS as LIVE_RANK_DIMENSIONS, RANK_MEASURES as LIVE_RANK_MEASURES, MINUTE_BUCKET_TTL_SECONDS, type LiveKeys, type LiveRankDimension, type LiveRankMeasure } from './live-keys';
export { planLiveWrites, encodeLivePlan, type LivePlan } from './live-plan';
export { LiveStateReader, type LiveMeasures, type MinutePoint, type Windows, type Ranking } from './live-reader';
