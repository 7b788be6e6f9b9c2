import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_MAX_BODY_BYTES, DEFAULT_SESSIONS, parseConfig } from './config';

describe('parseConfig', () => {
  it('applies defaults around the required data directory', () => {
    expect(parseConfig({ CHDB_DATA_DIR: 'data/chdb' })).toEqual({
      dataDir: path.resolve('data/chdb'),
      host: '127.0.0.1',
      port: 8123,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      sessions: DEFAULT_SESSIONS,
      logLevel: 'info',
    });
  });

  it('takes every variable', () => {
    const config = parseConfig({
      CHDB_DATA_DIR: '/var/lib/chdb',
      CHDB_HTTP_HOST: '0.0.0.0',
      CHDB_HTTP_PORT: '0',
      CHDB_USER: 'app',
      CHDB_PASSWORD: ' spaced secret ',
      CHDB_MAX_BODY_BYTES: '1024',
      CHDB_SESSIONS: '4',
      CHDB_LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 0, user: 'app', password: ' spaced secret ', maxBodyBytes: 1024, sessions: 4, logLevel: 'debug' });
  });

  it('a password alone protects the default user', () => {
    expect(parseConfig({ CHDB_DATA_DIR: '/d', CHDB_PASSWORD: 'p' })).toMatchObject({ user: 'default', password: 'p' });
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      parseConfig({ CHDB_HTTP_PORT: '80a', CHDB_USER: 'app', CHDB_MAX_BODY_BYTES: '0', CHDB_LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['CHDB_DATA_DIR', 'CHDB_HTTP_PORT', 'CHDB_USER', 'CHDB_MAX_BODY_BYTES', 'CHDB_LOG_LEVEL']) {
      expect(problems).toContain(name);
    }
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('rejects out-of-range ports', () => {
    expect(() => parseConfig({ CHDB_DATA_DIR: '/d', CHDB_HTTP_PORT: '65536' })).toThrow(/CHDB_HTTP_PORT/);
  });
});
