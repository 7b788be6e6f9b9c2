import { describe, expect, it } from 'vitest';
import { ConfigError } from '@livetally/config';
import { parseCollectorConfig } from './config';

const KEY = 'dy-0123456789abcdef';

function problems(env: Record<string, string>, readFile?: (p: string) => string): string[] {
  try {
    parseCollectorConfig(env, readFile);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('collector config', () => {
  it('has working defaults once keys are given', () => {
    expect(parseCollectorConfig({ COLLECTOR_API_KEYS: `douyin:${KEY}` })).toEqual({
      host: '127.0.0.1',
      port: 8090,
      metricsListen: { host: '127.0.0.1', port: 9466 },
      kafka: { brokers: ['127.0.0.1:9092'], topic: 'livetally.events', clientId: 'livetally-collector' },
      apiKeys: [{ platform: 'douyin', key: KEY }],
      maxBatchEvents: 1000,
      maxBodyBytes: 1_048_576,
      redisUrl: 'redis://127.0.0.1:6379',
      redisClusterNodes: [],
      rateLimit: { eventsPerSecond: 10_000, burst: 20_000, keyPrefix: 'lt:rl:collector' },
      produceTimeoutMs: 10_000,
      maxProduceBytes: 1_048_576,
      maxPendingEvents: 100_000,
      shutdownTimeoutMs: 15_000,
      logLevel: 'info',
    });
  });

  it('takes a produce size that fits the largest events, and refuses one that does not', () => {
    expect(
      parseCollectorConfig({ COLLECTOR_API_KEYS: `douyin:${KEY}`, COLLECTOR_MAX_PRODUCE_BYTES: '65536' })
        .maxProduceBytes,
    ).toBe(65_536);
    expect(
      problems({ COLLECTOR_API_KEYS: `douyin:${KEY}`, COLLECTOR_MAX_PRODUCE_BYTES: '16384' }).map(
        (p) => p.split(' ')[0],
      ),
    ).toEqual(['COLLECTOR_MAX_PRODUCE_BYTES']);
  });

  it('reads keys from a JSON file', () => {
    const config = parseCollectorConfig({ COLLECTOR_API_KEYS_FILE: '/etc/keys.json' }, (p) =>
      p === '/etc/keys.json' ? JSON.stringify({ taobao: KEY }) : '',
    );
    expect(config.apiKeys).toEqual([{ platform: 'taobao', key: KEY }]);
  });

  it('names every bad variable at once, and never quotes a key', () => {
    const found = problems({
      COLLECTOR_PORT: '99999',
      KAFKA_BROKERS: 'nope',
      COLLECTOR_MAX_BATCH_EVENTS: '0',
      LOG_LEVEL: 'loud',
      COLLECTOR_API_KEYS: 'douyin:short-secret',
    });
    expect(found.map((p) => p.split(' ')[0])).toEqual([
      'COLLECTOR_PORT',
      'KAFKA_BROKERS',
      'COLLECTOR_MAX_BATCH_EVENTS',
      'LOG_LEVEL',
      'COLLECTOR_API_KEYS',
    ]);
    expect(found.join('\n')).not.toContain('short-secret');
  });

  it('requires exactly one key source and a burst that fits a full batch', () => {
    expect(problems({})).toEqual([expect.stringMatching(/^COLLECTOR_API_KEYS .* is required/)]);
    expect(problems({ COLLECTOR_API_KEYS: `douyin:${KEY}`, COLLECTOR_API_KEYS_FILE: '/x' })).toEqual([
      expect.stringMatching(/both set/),
    ]);
    expect(problems({ COLLECTOR_API_KEYS: `douyin:${KEY}`, COLLECTOR_RATE_LIMIT_BURST: '500' })).toEqual([
      expect.stringMatching(/^COLLECTOR_RATE_LIMIT_BURST must be at least COLLECTOR_MAX_BATCH_EVENTS/),
    ]);
  });

  it('reports an unreadable key file by path and error code', () => {
    const found = problems({ COLLECTOR_API_KEYS_FILE: '/missing.json' }, () => {
      throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    });
    expect(found).toEqual(['COLLECTOR_API_KEYS_FILE cannot be read (/missing.json): ENOENT']);
  });
});
