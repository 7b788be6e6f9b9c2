import { ConfigError } from '@livetally/config';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from './config';

describe('gateway config', () => {
  it('has working defaults', () => {
    expect(parseGatewayConfig({})).toEqual({
      host: '127.0.0.1', port: 8080, redisUrl: 'redis://127.0.0.1:6379', redisKeyPrefix: 'lt', liveTickMs: 1000, logLevel: 'info',
      wsMaxSubscriptions: 50, wsMaxMessageBytes: 4096, wsHeartbeatMs: 15_000,
      ingest: { topic: 'livetally.events', groupId: 'ingest' },
      clickhouse: { url: 'http://127.0.0.1:8123', username: 'default', password: '', database: 'default' },
      sql: { maxSeconds: 10, maxRows: 10_000, maxMemoryBytes: 1_073_741_824 },
    });
  });

  it('names every bad variable at once', () => {
    const env = { GATEWAY_PORT: '99999', REDIS_URL: 'http://x', LIVE_TICK_MS: '10', LOG_LEVEL: 'loud', WS_MAX_SUBSCRIPTIONS: '0', WS_MAX_MESSAGE_BYTES: 'big', WS_HEARTBEAT_MS: '1.5', CLICKHOUSE_URL: 'ftp://x', SQL_MAX_SECONDS: '0', SQL_MAX_ROWS: 'many', SQL_MAX_MEMORY_BYTES: '1024' };
    try {
      parseGatewayConfig(env);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.split(' ')[0])).toEqual(Object.keys(env));
    }
  });
});
