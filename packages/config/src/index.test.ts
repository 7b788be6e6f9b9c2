import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  bool,
  hostPorts,
  int,
  oneOf,
  parseEnv,
  parseEnvInto,
  redisClusterNodesField,
  str,
  url,
} from './index';

const schema = {
  KAFKA_BROKERS: hostPorts('127.0.0.1:9092'),
  REDIS_URL: url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  BATCH: int(500, 1, 10_000),
  DEBUG: bool(false),
  MODE: oneOf('live', ['live', 'replay'] as const),
  NAME: str(),
};

describe('parseEnv', () => {
  it('applies defaults and converts values', () => {
    expect(parseEnv({ NAME: 'x', BATCH: '20', DEBUG: 'yes', KAFKA_BROKERS: 'a:1, b:2' }, schema)).toEqual({
      KAFKA_BROKERS: ['a:1', 'b:2'],
      REDIS_URL: 'redis://127.0.0.1:6379',
      BATCH: 20,
      DEBUG: true,
      MODE: 'live',
      NAME: 'x',
    });
  });

  it('reports every bad variable at once, by name', () => {
    try {
      parseEnv({ KAFKA_BROKERS: 'nope', REDIS_URL: 'http://x', BATCH: '0', DEBUG: 'maybe', MODE: 'fast' }, schema);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const names = (err as ConfigError).problems.map((p) => p.split(' ')[0]);
      expect(names).toEqual(['KAFKA_BROKERS', 'REDIS_URL', 'BATCH', 'DEBUG', 'MODE', 'NAME']);
    }
  });
});

describe('parseEnvInto', () => {
  it('adds the bad variables to the problems already found and returns nothing', () => {
    const problems = ['OTHER is wrong'];
    expect(parseEnvInto({ BATCH: '0' }, schema, problems)).toBeUndefined();
    expect(problems.map((p) => p.split(' ')[0])).toEqual(['OTHER', 'BATCH', 'NAME']);
  });

  it('returns the values when every variable is good, even after earlier problems', () => {
    const problems = ['OTHER is wrong'];
    expect(parseEnvInto({ NAME: 'x' }, schema, problems)).toMatchObject({ NAME: 'x', BATCH: 500 });
    expect(problems).toEqual(['OTHER is wrong']);
  });
});

describe('REDIS_CLUSTER_NODES', () => {
  const nodes = { REDIS_CLUSTER_NODES: redisClusterNodesField };

  it('is empty (one Redis) when unset or blank, and a host:port list when set', () => {
    expect(parseEnv({}, nodes).REDIS_CLUSTER_NODES).toEqual([]);
    expect(parseEnv({ REDIS_CLUSTER_NODES: '  ' }, nodes).REDIS_CLUSTER_NODES).toEqual([]);
    expect(parseEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001' }, nodes).REDIS_CLUSTER_NODES).toEqual([
      '127.0.0.1:7000',
      '127.0.0.1:7001',
    ]);
  });

  it('refuses entries without a port', () => {
    expect(() => parseEnv({ REDIS_CLUSTER_NODES: 'redis-1,redis-2:7000' }, nodes)).toThrow(
      /REDIS_CLUSTER_NODES must be host:port/,
    );
  });
});
