export { createHistoryClient, type HistoryClientOptions } from './client';
export { migrate, MIGRATIONS, type Migration } from './migrations';
export {
  toEventRow,
  scopeColumn,
  columnOf,
  FIELD_COLUMNS,
  SCOPE_COLUMN_KINDS,
  type EventRow,
  type KafkaPosition,
} from './rows';
export {
  MEASURE_SELECT,
  ROLLUP_SUMS,
  ROLLUP_VIEW_QUERY,
  VIEWER_ROWS,
  leaderboardRollupSql,
  leaderboardSql,
  measureSql,
  rollupColumn,
  rollupColumnDefinition,
} from './counting-sql';
export {
  EventHistory,
  HISTORY_SCOPE_KINDS,
  type HistoryObserver,
  type HistoryTotals,
  type ScopeTotalsText,
  type StoredEventKey,
} from './event-history';
export {
  HistoryQueries,
  type HistoryQueriesOptions,
  RANK_DIMENSIONS,
  RANK_MEASURES,
  type Granularity,
  type HistoryMeasures,
  type HistorySubject,
  type RankDimension,
  type RankMeasure,
} from './history-queries';
export {
  ROLLUPS,
  MINUTE_ROLLUP,
  HOUR_ROLLUP,
  DAY_ROLLUP,
  planRollups,
  type Rollup,
  type RollupGrain,
  type RollupNeeds,
  type RollupSegment,
} from './rollups';
export { VIEWER_SKETCHES, VIEWER_SKETCH_KINDS, sketchRange, type SketchRange } from './viewer-sketches';
export { CampaignBackfillQueries, type BackfillSlice, type BackfillAggregates } from './campaign-backfill';
export { campaignSliceWhere } from './campaign-backfill';
export {
  LiveHistory,
  type LiveSelection,
  type MinuteBucketRow,
  type RankingRow,
  type RegisterRow,
  type CombinationRow,
} from './live-history';
export { DIMENSION_SCOPE_KINDS } from './scope-sql';
export { CombinationSums } from './combinations';
export { FencedEventWriter, type FencedRow, type FencedWriterOptions } from './fenced-writer';
