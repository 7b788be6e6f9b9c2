export * from './totals';
export * from './keys';
export { RedisCounterStore, type ApplyBatchInput, type ApplyOutcome, type CounterStoreObserver } from './redis-store';
export { subscribeToChanges, type ChangeSubscription } from './changes';
export { EventDeduplicator, fingerprint, ownerOf, type ClaimInput, type DedupOptions } from './dedup';
