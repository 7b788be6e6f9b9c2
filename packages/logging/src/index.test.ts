import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, safeUrl } from './index';

describe('createLogger', () => {
  it('tags the service and redacts secrets', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ service: 'ingest', destination });
    log.child({ partition: 3 }).info({ password: 'hunter2', headers: { authorization: 'Bearer x' } }, 'hello');
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      service: 'ingest',
      partition: 3,
      msg: 'hello',
      password: '[redacted]',
      headers: { authorization: '[redacted]' },
    });
    log.info(
      {
        config: {
          auth: { mode: 'on', keys: [{ kid: 'k1', secret: 's3cret' }] },
          sqlCredentials: { username: 'u', password: 'pw' },
        },
      },
      'config',
    );
    const config = JSON.parse(lines[1]!).config;
    expect(config).toEqual({
      auth: { mode: 'on', keys: '[redacted]' },
      sqlCredentials: { username: 'u', password: '[redacted]' },
    });
  });

  it('hides passwords in URLs', () => {
    expect(safeUrl('redis://user:secret@127.0.0.1:6379/0')).toBe('redis://user:***@127.0.0.1:6379/0');
    expect(safeUrl('not a url')).toBe('[unparseable url]');
  });
});
