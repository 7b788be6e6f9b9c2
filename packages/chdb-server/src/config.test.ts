import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_MAX_BODY_BYTES, DEFAULT_SESSIONS, parseConfig } from './config';

describe('parseConfig', () => {
  it('applies defaults around the required data directory and password', () => {
    expect(parseConfig({ CHDB_DATA_DIR: 'data/chdb', CHDB_PASSWORD: 'p' })).toEqual({
      dataDir: path.resolve('data/chdb'),
      host: '127.0.0.1',
      port: 8123,
      writer: { user: 'default', password: 'p' },
      allowedHosts: [],
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
      CHDB_READER_USER: 'app_reader',
      CHDB_READER_PASSWORD: 'r',
      CHDB_ALLOWED_HOSTS: 'chdb.internal, [fd00::1]',
      CHDB_MAX_BODY_BYTES: '1024',
      CHDB_SESSIONS: '4',
      CHDB_LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      writer: { user: 'app', password: ' spaced secret ' },
      reader: { user: 'app_reader', password: 'r' },
      allowedHosts: ['chdb.internal', '[fd00::1]'],
      maxBodyBytes: 1024,
      sessions: 4,
      logLevel: 'debug',
    });
  });

  it('refuses to start without a password, naming CHDB_PASSWORD', () => {
    expect(() => parseConfig({ CHDB_DATA_DIR: '/d' })).toThrow(/CHDB_PASSWORD is required/);
    expect(() => parseConfig({ CHDB_DATA_DIR: '/d', CHDB_USER: 'app', CHDB_PASSWORD: '' })).toThrow(/CHDB_PASSWORD/);
  });

  it('wants the reader account whole and distinct from the writer', () => {
    expect(() => parseConfig({ CHDB_DATA_DIR: '/d', CHDB_PASSWORD: 'p', CHDB_READER_USER: 'r' })).toThrow(
      /CHDB_READER_PASSWORD/,
    );
    expect(() =>
      parseConfig({ CHDB_DATA_DIR: '/d', CHDB_PASSWORD: 'p', CHDB_READER_USER: 'default', CHDB_READER_PASSWORD: 'q' }),
    ).toThrow(/must differ/);
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      parseConfig({
        CHDB_HTTP_PORT: '80a',
        CHDB_USER: 'a:b',
        CHDB_MAX_BODY_BYTES: '0',
        CHDB_LOG_LEVEL: 'loud',
        CHDB_ALLOWED_HOSTS: 'evil.example:80',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'CHDB_DATA_DIR',
      'CHDB_HTTP_PORT',
      'CHDB_PASSWORD',
      'CHDB_USER',
      'CHDB_ALLOWED_HOSTS',
      'CHDB_MAX_BODY_BYTES',
      'CHDB_LOG_LEVEL',
    ]) {
      expect(problems).toContain(name);
    }
    expect((error as ConfigError).problems).toHaveLength(7);
  });

  it('rejects out-of-range ports', () => {
    expect(() => parseConfig({ CHDB_DATA_DIR: '/d', CHDB_PASSWORD: 'p', CHDB_HTTP_PORT: '65536' })).toThrow(
      /CHDB_HTTP_PORT/,
    );
  });
});
