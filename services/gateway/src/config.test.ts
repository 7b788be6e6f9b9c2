import { describe, expect, it } from 'vitest';
import { ConfigError } from '@livetally/config';
import { describeConfig, parseGatewayConfig } from './config';

describe('gateway config', () => {
  it('has working defaults, access control on', () => {
    const secret = 'd'.repeat(40);
    expect(parseGatewayConfig({ GATEWAY_TOKEN_SECRETS: secret })).toEqual({
      host: '127.0.0.1',
      port: 8080,
      redisUrl: 'redis://127.0.0.1:6379',
      redisClusterNodes: [],
      redisKeyPrefix: 'lt',
      liveTickMs: 1000,
      livePushIntervalMs: 100,
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
      wsMaxSubscriptions: 50,
      wsMaxMessageBytes: 4096,
      wsHeartbeatMs: 15_000,
      clickhouse: { url: 'http://127.0.0.1:8123', username: 'default', password: '', database: 'default' },
      sql: { maxSeconds: 10, maxRows: 10_000, maxMemoryBytes: 1_073_741_824, tableFunctions: [] },
      sqlCredentials: { username: 'default', password: '' },
      auth: { mode: 'on', keys: [{ secret }], clockSkewSeconds: 30, metricsPublic: false },
      limits: {
        bodyLimit: 65_536,
        connectionTimeout: 120_000,
        requestTimeout: 30_000,
        keepAliveTimeout: 72_000,
        trustProxy: false,
        allowedOrigins: [],
        wsMaxConnections: 10_000,
        wsMaxConnectionsPerIp: 100,
        wsFrameRate: 20,
        wsFrameBurst: 40,
        wsMaxSubscriptionsTotal: 100_000,
        wsMaxSubscriptionsPerToken: 1_000,
        wsSubscriptionShareTtlMs: 30_000,
        ratePerMinute: 600,
        sqlRatePerMinute: 30,
      },
    });
  });

  it('needs long secrets when GATEWAY_AUTH=on and never repeats them', () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseGatewayConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ GATEWAY_AUTH: 'on' })).toEqual([
      expect.stringMatching(/^GATEWAY_TOKEN_SECRETS is required when GATEWAY_AUTH=on/),
    ]);
    // On by default: without secrets the gateway does not start, and the message says how to make one.
    expect(problems({})).toEqual([
      expect.stringMatching(
        /^GATEWAY_TOKEN_SECRETS is required when GATEWAY_AUTH=on \(the default\).*openssl rand -base64 48.*GATEWAY_AUTH=off/,
      ),
    ]);
    expect(parseGatewayConfig({ GATEWAY_AUTH: 'off' }).auth).toEqual({
      mode: 'off',
      keys: [],
      clockSkewSeconds: 30,
      metricsPublic: false,
    });
    const short = problems({ GATEWAY_AUTH: 'on', GATEWAY_TOKEN_SECRETS: 'k1:tooshort-secret' });
    expect(short).toEqual([
      expect.stringMatching(/^GATEWAY_TOKEN_SECRETS entry 1 \(k1\): the secret must be at least 32 bytes/),
    ]);
    expect(short.join()).not.toContain('tooshort');
    expect(problems({ GATEWAY_AUTH: 'yes' })).toEqual([expect.stringMatching(/^GATEWAY_AUTH must be one of off, on/)]);
    for (const bad of ['https://ok.example,https://x.example/path', 'ftp:/x', 'screens.example.com']) {
      expect(problems({ GATEWAY_AUTH: 'off', GATEWAY_ALLOWED_ORIGINS: bad }), bad).toEqual([
        expect.stringMatching(/^GATEWAY_ALLOWED_ORIGINS entries must be/),
      ]);
    }
  });

  it('reads access control, SQL credentials and limits', () => {
    const secret = 's'.repeat(40);
    const c = parseGatewayConfig({
      GATEWAY_AUTH: 'on',
      GATEWAY_TOKEN_SECRETS: `new:${secret}x, old:${secret}`,
      GATEWAY_METRICS_PUBLIC: 'true',
      GATEWAY_ALLOWED_ORIGINS: 'https://Ops.Example.com, http://10.0.0.5:8080',
      GATEWAY_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
      CLICKHOUSE_PASSWORD: 'admin-pw',
      CLICKHOUSE_SQL_USER: 'lt_sql',
      CLICKHOUSE_SQL_PASSWORD: 'sql-pw',
      SQL_MAX_SECONDS: '300',
    });
    expect(c.auth).toEqual({
      mode: 'on',
      keys: [
        { kid: 'new', secret: `${secret}x` },
        { kid: 'old', secret },
      ],
      clockSkewSeconds: 30,
      metricsPublic: true,
    });
    expect(c.limits).toMatchObject({
      allowedOrigins: ['https://ops.example.com', 'http://10.0.0.5:8080'],
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      connectionTimeout: 315_000,
    });
    expect(c.sqlCredentials).toEqual({ username: 'lt_sql', password: 'sql-pw' });
    const logged = JSON.stringify(describeConfig(c));
    for (const secretText of [secret, 'admin-pw', 'sql-pw']) expect(logged).not.toContain(secretText);
    expect(describeConfig(c).auth).toEqual({
      mode: 'on',
      kids: ['new', 'old'],
      clockSkewSeconds: 30,
      metricsPublic: true,
    });
  });

  it('names every bad variable at once', () => {
    const env = {
      GATEWAY_PORT: '99999',
      REDIS_URL: 'http://x',
      LIVE_TICK_MS: '10',
      LOG_LEVEL: 'loud',
      WS_MAX_SUBSCRIPTIONS: '0',
      WS_MAX_MESSAGE_BYTES: 'big',
      WS_HEARTBEAT_MS: '1.5',
      CLICKHOUSE_URL: 'ftp://x',
      SQL_MAX_SECONDS: '0',
      SQL_MAX_ROWS: 'many',
      SQL_MAX_MEMORY_BYTES: '1024',
      GATEWAY_TOKEN_SECRETS: 'short',
    };
    try {
      parseGatewayConfig(env);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.split(' ')[0])).toEqual(Object.keys(env));
    }
  });
});
