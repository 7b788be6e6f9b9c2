/**
 * The SQL endpoint runs only as a ClickHouse user that cannot write or reach outside the
 * tables: the server's own settings profile must make it read-only (readonly ≥ 1, which
 * ClickHouse enforces on every statement whatever the request asks), and its grants
 * (`SHOW GRANTS FINAL`, roles expanded) may hold nothing but SELECT and SHOW privileges.
 */
export type SqlUserVerdict = { ok: true; readonly: number } | { ok: false; reason: string };

/** Privileges that only read data or metadata; every other one (INSERT, ALL, FILE, URL, SOURCES, …) refuses the user. */
const READ_PRIVILEGES = /^(SELECT|SHOW|SHOW TABLES|SHOW COLUMNS|SHOW DATABASES|SHOW DICTIONARIES)$/i;
const GRANT = /^GRANT (.+) ON \S+ TO .+$/;

export function judgeSqlUser(user: string, readonlySetting: string, grantLines: string[]): SqlUserVerdict {
  const readonly = Number(readonlySetting);
  if (!(readonly >= 1)) {
    return {
      ok: false,
      reason: `the ClickHouse user ${JSON.stringify(user)} is not read-only (its profile has readonly=${readonlySetting}); give CLICKHOUSE_SQL_USER a profile with readonly=2 (infra/clickhouse/users.d/livetally.xml)`,
    };
  }
  const extra = new Set<string>();
  for (const line of grantLines.map((l) => l.trim()).filter(Boolean)) {
    const grant = GRANT.exec(line.replace(/\([^)]*\)/g, ''));
    if (!grant) {
      extra.add(line);
      continue;
    }
    for (const privilege of grant[1]!.split(',').map((p) => p.trim()))
      if (!READ_PRIVILEGES.test(privilege)) extra.add(privilege);
  }
  if (extra.size > 0) {
    return {
      ok: false,
      reason: `the ClickHouse user ${JSON.stringify(user)} holds more than SELECT and SHOW (${[...extra].slice(0, 8).join(', ')}); revoke them or use a user made for reading`,
    };
  }
  return { ok: true, readonly };
}
