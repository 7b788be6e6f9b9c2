import { describe, expect, it } from 'vitest';
import { checkReadOnly } from './sql-guard';

describe('checkReadOnly', () => {
  it.each([
    'SELECT 1',
    '  select count() FROM lt_events WHERE city = \'Shenzhen\'',
    'WITH t AS (SELECT 1 AS x) SELECT x FROM t',
    'SHOW TABLES',
    'DESCRIBE TABLE lt_rollup_minute',
    'DESC lt_events',
    'EXPLAIN SELECT 1',
    'EXISTS TABLE lt_events',
    '-- why\n/* nested /* comment */ */ SELECT 1',
    "SELECT 'a; DROP TABLE x' AS s",
    'SELECT "weird;name" FROM t',
    'SELECT format FROM t',
    "SELECT format('{}-{}', 'a', 'b')",
    'SELECT 1 SETTINGS join_use_nulls = 1',
    'SELECT $$ ; DROP $$',
  ])('accepts %s', (sql) => {
    expect(checkReadOnly(sql)).toMatchObject({ ok: true });
  });

  it('drops a trailing semicolon and what follows it if it is only comments', () => {
    expect(checkReadOnly('SELECT 1;')).toEqual({ ok: true, query: 'SELECT 1' });
    expect(checkReadOnly('SELECT 1 ; -- done\n')).toEqual({ ok: true, query: 'SELECT 1' });
    expect(checkReadOnly('SELECT 1')).toEqual({ ok: true, query: 'SELECT 1' });
  });

  it.each([
    ['', 'empty'],
    ['-- only a comment', 'empty'],
    ['INSERT INTO lt_events VALUES (1)', 'only SELECT'],
    ['CREATE TABLE x (a UInt8) ENGINE = Memory', 'only SELECT'],
    ['DROP TABLE lt_events', 'only SELECT'],
    ['ALTER TABLE lt_events DELETE WHERE 1', 'only SELECT'],
    ['TRUNCATE TABLE lt_events', 'only SELECT'],
    ['SET readonly = 0', 'only SELECT'],
    ['/* SELECT */ DROP TABLE x', 'only SELECT'],
    ['(SELECT 1)', 'only SELECT'],
    ['SELECT 1; DROP TABLE x', 'one statement'],
    ['SELECT 1;SELECT 2', 'one statement'],
    ["SELECT 1 #x\n; DROP TABLE t", 'one statement'],
    ["SELECT * FROM lt_events INTO OUTFILE '/tmp/x.csv'", 'INTO OUTFILE'],
    ['SELECT 1 FORMAT CSV', 'FORMAT clause'],
    ['SELECT 1 SETTINGS max_result_rows = 1000000', 'max_result_rows'],
    ['SELECT 1 SETTINGS join_use_nulls = 1, readonly = 0', 'readonly'],
    ["SELECT 1 SETTINGS result_overflow_mode = 'break'", 'result_overflow_mode'],
    ['SELECT * FROM (SELECT 1 SETTINGS max_execution_time = 1000)', 'max_execution_time'],
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", 'file()'],
    ["SELECT * FROM url('http://x/', 'CSV')", 'url()'],
    ["SELECT * FROM remote('h', system.one)", 'remote()'],
    ["SELECT 'open", 'quote is not closed'],
    ['SELECT 1 /* open', 'comment is not closed'],
  ])('refuses %j', (sql, hint) => {
    const r = checkReadOnly(sql);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(hint);
  });
});
