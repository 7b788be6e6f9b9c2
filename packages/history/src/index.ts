export { createHistoryClient, type HistoryClientOptions } from './client';
export { migrate, MIGRATIONS, type Migration } from './migrations';
export { toEventRow, scopeColumn, type EventRow, type KafkaPosition } from './rows';
export { EventHistory, type HistoryObserver, type HistoryTotals } from './event-history';
