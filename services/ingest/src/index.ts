export { parseIngestConfig, type IngestConfig } from './config';
export { startIngest, type IngestDeps, type RunningIngest } from './server';
