import { describe, expect, it } from 'vitest';
import { kafkaContainerEnv, parseEnvFile, planStack } from './stack-plan';

describe('planStack', () => {
  it('uses the services the caller names, whatever Docker does', () => {
    expect(planStack({ REDIS_URL: 'redis://127.0.0.1:6379' }, true)).toMatchObject({ kind: 'given' });
    expect(planStack({ KAFKA_BROKERS: '127.0.0.1:9092', CLICKHOUSE_URL: 'http://127.0.0.1:8123' }, false)).toEqual({
      kind: 'given',
      reason: 'using the services named by KAFKA_BROKERS, CLICKHOUSE_URL',
    });
  });

  it('starts containers when nothing is named and Docker answers', () => {
    expect(planStack({}, true)).toMatchObject({ kind: 'containers' });
    expect(planStack({ KAFKA_BROKERS: '' }, true)).toMatchObject({ kind: 'containers' });
  });

  it('falls back to the native stack without Docker, and says why', () => {
    expect(planStack({}, false)).toEqual({
      kind: 'native',
      reason: expect.stringContaining('no Docker engine answers'),
    });
    expect(planStack({ LT_TESTCONTAINERS: 'off' }, true)).toMatchObject({ kind: 'native' });
  });
});

describe('parseEnvFile', () => {
  it("reads infra/stack.sh's stack.env lines and skips comments", () => {
    const text = [
      '# written by infra/stack.sh up',
      'export KAFKA_BROKERS=127.0.0.1:9092',
      "export CLICKHOUSE_PASSWORD='a b'",
      'REDIS_URL=redis://127.0.0.1:6379',
      'not a variable',
    ].join('\n');
    expect(parseEnvFile(text)).toEqual({
      KAFKA_BROKERS: '127.0.0.1:9092',
      CLICKHOUSE_PASSWORD: 'a b',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
  });
});

describe('kafkaContainerEnv', () => {
  it('advertises the published loopback port, so clients outside the container reach the broker', () => {
    const env = kafkaContainerEnv(40123);
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe('HOST://127.0.0.1:40123');
    expect(env.KAFKA_LISTENERS).toContain('HOST://0.0.0.0:9092');
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });
});
