import { describe, expect, it } from 'vitest';
import { ConfigError } from '@livetally/config';
import { UsageError, parseDlqConfig, parseFlags, parseRebuildConfig, parseReconcileConfig } from './config';

describe('operator command configuration', () => {
  it('uses the ingest workers’ names and defaults', () => {
    const c = parseReconcileConfig({ KAFKA_TOPIC: 'x', REDIS_KEY_PREFIX: 'p', CLICKHOUSE_DATABASE: 'db' });
    expect(c).toMatchObject({
      topic: 'x',
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'p' },
      clickhouse: { database: 'db', username: 'default' },
    });
  });

  it('gives dlq the workers’ topics and a replay ledger beside the dead-letter topic unless one is named', () => {
    expect(parseDlqConfig({})).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      topic: 'livetally.events',
      dlqTopic: 'livetally.events.dlq',
      ledgerTopic: 'livetally.events.dlq.replayed',
      clickhouse: { url: 'http://127.0.0.1:8123', database: 'default' },
    });
    expect(parseDlqConfig({ KAFKA_DLQ_TOPIC: 'x.dlq' }).ledgerTopic).toBe('x.dlq.replayed');
    expect(parseDlqConfig({ KAFKA_DLQ_REPLAY_LEDGER_TOPIC: 'ledger' }).ledgerTopic).toBe('ledger');
    expect(() => parseDlqConfig({ KAFKA_BROKERS: 'nope' })).toThrow(ConfigError);
  });

  it('gives rebuild a grace period longer than an insert may take, and the dedup layout of the workers', () => {
    const c = parseRebuildConfig({});
    expect(c.graceMs).toBe(35_000);
    expect(c.lockTtlMs).toBe(60_000);
    expect(c.verify).toBe(true);
    expect(c.dedup).toEqual({ windowSeconds: 3_600, bucketsPerHour: 4_096 });
    expect(c.fingerprintWindowMs).toBe(3_600_000);
    expect(c.viewerKinds).toEqual(['all', 'city', 'district', 'category', 'platform']);
  });

  it('restores the fingerprints of the whole dedup window unless a shorter one is given', () => {
    expect(parseRebuildConfig({ INGEST_DEDUP_WINDOW_SECONDS: '600' }).fingerprintWindowMs).toBe(600_000);
    expect(parseRebuildConfig({ REBUILD_FINGERPRINT_WINDOW_MS: '2500' }).fingerprintWindowMs).toBe(2_500);
    expect(() => parseRebuildConfig({ REBUILD_FINGERPRINT_WINDOW_MS: '0' })).toThrow(/REBUILD_FINGERPRINT_WINDOW_MS/);
  });

  it('takes the unique-viewer kinds to restore as a list of dimension kinds, or none', () => {
    expect(parseRebuildConfig({ REBUILD_UNIQUE_VIEWER_KINDS: 'all, host,stream,host' }).viewerKinds).toEqual([
      'all',
      'host',
      'stream',
    ]);
    expect(parseRebuildConfig({ REBUILD_UNIQUE_VIEWER_KINDS: 'none' }).viewerKinds).toEqual([]);
    expect(() => parseRebuildConfig({ REBUILD_UNIQUE_VIEWER_KINDS: 'all,campaign' })).toThrow(
      /REBUILD_UNIQUE_VIEWER_KINDS must be none or a comma-separated list/,
    );
  });

  it('names every bad variable', () => {
    const err = (() => {
      try {
        parseRebuildConfig({ REDIS_URL: 'http://x', REBUILD_GRACE_MS: 'soon' });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems.join('\n')).toMatch(/REDIS_URL[\s\S]*REBUILD_GRACE_MS/);
  });

  it('gives every command the whole ClickHouse account and its request timeout', () => {
    const env = {
      CLICKHOUSE_URL: 'https://ch:8443',
      CLICKHOUSE_USER: 'u',
      CLICKHOUSE_PASSWORD: 'pw',
      CLICKHOUSE_DATABASE: 'db',
      CLICKHOUSE_REQUEST_TIMEOUT_MS: '5000',
    };
    const expected = { url: 'https://ch:8443', username: 'u', password: 'pw', database: 'db', requestTimeoutMs: 5_000 };
    expect(parseReconcileConfig(env).clickhouse).toEqual(expected);
    expect(parseRebuildConfig(env).clickhouse).toEqual(expected);
    expect(parseDlqConfig(env).clickhouse).toEqual(expected);
    expect(parseDlqConfig({}).clickhouse.requestTimeoutMs).toBe(60_000);
  });

  it('accepts known flags only', () => {
    expect([...parseFlags(['--json'], ['--json', '--help'])]).toEqual(['--json']);
    expect(() => parseFlags(['--jsno'], ['--json'])).toThrow(UsageError);
  });
});
