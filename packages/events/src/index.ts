export * from './types';
export * from './limits';
export { TOPICS, topicReplication, type TopicReplication } from './topics';
export { validateEvent, type ValidateOptions } from './validate';
export { EVENT_SCHEMA_ID, checksBeyondSchema, eventJsonSchema } from './json-schema';
export { encodeEvent, decodeEvent, describeErrors } from './codec';
export {
  scopesOf,
  parseScope,
  parseStrictScope,
  formatScope,
  CAMPAIGN_ID_PATTERN,
  SCOPE_KINDS,
  DIMENSION_KINDS,
  DIMENSION_FIELDS,
  type DimensionKind,
  type Scope,
  type ScopeKind,
} from './scopes';
export {
  MEASURES,
  COUNTING_RULE,
  LEADERBOARD_DIMENSIONS,
  LEADERBOARD_MEASURES,
  LEADERBOARD_MEASURE_NAMES,
  amountOf,
  contributionOf,
  contributionsOf,
  emptyMeasureTotals,
  tally,
  viewerFieldOf,
  type Amount,
  type AmountField,
  type Contribution,
  type CountingRule,
  type LeaderboardDimension,
  type LeaderboardMeasure,
  type Measure,
  type MeasureTotals,
  type TypeRule,
} from './counting';
