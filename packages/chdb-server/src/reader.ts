import { escapeParam } from './engine-inspector';
import { ClickHouseHttpError, ErrorCode } from './errors';

/**
 * What the read-only account may do, enforced here as a ClickHouse settings profile
 * would: every statement runs with readonly=2 (settings may change, data may not),
 * the request may make that stricter (readonly=1) but never lift it, and only
 * statements that read are accepted at all.
 */

/** Root node types of ClickHouse's parse that only read data or metadata. */
const READ_STATEMENTS =
  /^(SelectWithUnionQuery|Explain|ShowTables|ShowColumns|ShowGrantsQuery|ShowCreate\w*Query|DescribeQuery|Exists\w*Query)$/;

/** The request's settings with the reader's readonly last; throws when the request tries to lift it. */
export function readerSettings(settings: ReadonlyArray<[string, string]>): Array<[string, string]> {
  const asked = settings.find(([name]) => name === 'readonly')?.[1];
  const readonly = asked === undefined || asked.trim() === '2' ? '2' : asked.trim() === '1' ? '1' : undefined;
  if (readonly === undefined) {
    throw ClickHouseHttpError.of(
      ErrorCode.READONLY,
      `Cannot modify 'readonly' setting in readonly mode (the read-only account always runs with readonly=2; asked for readonly=${asked})`,
    );
  }
  return [...settings.filter(([name]) => name !== 'readonly'), ['readonly', readonly]];
}

export function checkReaderStatement(type: string, user: string): void {
  if (!READ_STATEMENTS.test(type)) {
    throw ClickHouseHttpError.of(
      ErrorCode.READONLY,
      `${user}: Cannot execute query in readonly mode: the read-only account may only run SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN (got ${type})`,
    );
  }
}

/**
 * SHOW GRANTS from the reader. Every chDB session runs as the engine's one built-in
 * user, whose grants are the writer's; the reader's privileges are the ones enforced
 * above, so that is what it is told, in the shape ClickHouse answers (one GRANT per row).
 */
export function readerGrantsQuery(user: string): { sql: string; params: Record<string, string> } {
  return {
    sql: 'SELECT {grant:String} AS GRANTS',
    params: { grant: escapeParam(`GRANT SHOW, SELECT ON *.* TO ${user}`) },
  };
}
