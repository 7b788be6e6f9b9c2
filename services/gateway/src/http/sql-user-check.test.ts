import { describe, expect, it } from 'vitest';
import { judgeSqlUser } from './sql-user-check';

describe('judgeSqlUser', () => {
  it('accepts a readonly profile holding only SELECT and SHOW', () => {
    expect(
      judgeSqlUser('reader', '2', [
        'GRANT SHOW, SELECT ON livetally.* TO reader',
        'GRANT SELECT(name, database) ON system.tables TO reader',
      ]),
    ).toEqual({ ok: true, readonly: 2 });
  });

  it('refuses a user whose profile lets it write', () => {
    const verdict = judgeSqlUser('default', '0', ['GRANT SELECT ON *.* TO default']);
    expect(verdict).toMatchObject({ ok: false });
    expect(!verdict.ok && verdict.reason).toMatch(/not read-only \(its profile has readonly=0\).*CLICKHOUSE_SQL_USER/);
  });

  it('refuses a read-only user that may still read files or the network, or holds a role', () => {
    expect(judgeSqlUser('r', '1', ['GRANT SELECT, FILE, URL ON *.* TO r'])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/FILE, URL/),
    });
    expect(judgeSqlUser('r', '1', ['GRANT ALL ON *.* TO r'])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/ALL/),
    });
    expect(judgeSqlUser('r', '1', ['GRANT SOURCES ON *.* TO r'])).toMatchObject({ ok: false });
    expect(judgeSqlUser('r', '1', ['GRANT admin TO r'])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/GRANT admin TO r/),
    });
  });
});
