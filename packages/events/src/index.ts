export * from './types';
export * from './limits';
export { TOPICS, topicReplication, type TopicReplication } from './topics';
export { validateEvent, type ValidateOptions } from './validate';
export { encodeEvent, decodeEvent, describeErrors } from './codec';
export {
  scopesOf,
  parseScope,
  parseStrictScope,
  formatScope,
  CAMPAIGN_ID_PATTERN,
  SCOPE_KINDS,
  type Scope,
  type ScopeKind,
} from './scopes';
