export { startChdbServer, type ChdbServer, type ChdbServerOptions } from './server';
export { loadConfig, parseConfig, ConfigError, type ChdbAccount, type ChdbServerConfig } from './config';
export { createLogger, type Logger, type LogLevel } from './logger';
