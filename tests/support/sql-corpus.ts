/**
 * Queries for POST /v1/sql. HOSTILE: each must be refused (the error code it is refused
 * with: READ_ONLY from the policy, SQL_ERROR when ClickHouse's parser itself rejects it);
 * none may read a host file, write one, reach the network or read a table outside the
 * endpoint's database and harmless system tables. LEGIT: what engineers ask, each
 * accepted and run. Files the hostile queries would write go under OUT (checked after).
 */
export const OUT = '/tmp/livetally-hostile-sql';

type Hostile = [group: string, query: string, code?: 'READ_ONLY' | 'SQL_ERROR'];

export const HOSTILE: Hostile[] = [
  // Quoting and casing of the function that reads host files.
  ['quoting', "SELECT file('/etc/hostname')"],
  ['quoting', "SELECT `file`('/etc/hostname')"],
  ['quoting', `SELECT "file"('/etc/hostname')`],
  ['quoting', "SELECT FILE('/etc/hostname')"],
  ['quoting', "SELECT * FROM file('/etc/hostname', 'LineAsString')"],
  ['quoting', "SELECT * FROM `file`('/etc/hostname', 'LineAsString')"],
  ['quoting', `SELECT * FROM "file"('/etc/passwd', 'LineAsString')`],
  ['quoting', "SELECT * FROM fileCluster('default', '/etc/hostname', 'LineAsString')"],
  // Other table functions that reach files, the network, other servers or processes.
  ['external', "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')"],
  ['external', "SELECT * FROM s3('http://127.0.0.1:1/bucket/x', 'LineAsString')"],
  ['external', "SELECT * FROM remote('127.0.0.1', system.one)"],
  ['external', "SELECT * FROM remoteSecure('127.0.0.1', system.one)"],
  ['external', "SELECT * FROM cluster('default', system.one)"],
  ['external', "SELECT * FROM executable('cat /etc/passwd', 'LineAsString', 'line String')"],
  ['external', "SELECT * FROM input('x String')"],
  ['external', "SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')"],
  ['external', "SELECT * FROM postgresql('127.0.0.1:5432', 'db', 't', 'u', 'p')"],
  ['external', "SELECT * FROM hdfs('hdfs://127.0.0.1:9000/x', 'TSV')"],
  ['external', "SELECT * FROM filesystem('/etc')"],
  ['external', "SELECT catboostEvaluate('/etc/passwd', 1)"],
  // Table functions that read inside the engine but around the table allowlist.
  ['table functions', "SELECT * FROM merge('system', '^users$')"],
  ['table functions', 'SELECT * FROM numbers(10)'],
  ['table functions', 'SELECT * FROM view(SELECT 1)'],
  ['table functions', "SELECT * FROM dictionary('d')"],
  ['table functions', "SELECT dictGet('d', 'v', toUInt64(1))"],
  ['table functions', "SELECT joinGet('j', 'v', 1)"],
  // Comments between and around the parts of a call.
  ['comments', "SELECT /* a */ file/**/('/etc/hostname')"],
  ['comments', "SELECT file -- why\n('/etc/hostname')"],
  ['comments', `SELECT 1 /* INTO OUTFILE */ INTO OUTFILE '${OUT}/comment.txt'`],
  ['comments', "# a comment\nSELECT file('/etc/hostname')"],
  ['comments', "SELECT 1 /* nested /* comment */ */, file('/etc/hostname')"],
  // Dollar-quoted strings and other literals hiding keywords from a hand scanner.
  ['dollar strings', `SELECT $a1$ x $a1$ INTO OUTFILE '${OUT}/dollar-digit.txt'`],
  // What the previous hand scanner saw as one $$ string; ClickHouse sees $a1$…$a1$, then INTO OUTFILE, then a comment.
  ['dollar strings', `SELECT $a1$ $$ $a1$ INTO OUTFILE '${OUT}/dollar-hidden.txt' --$$`],
  ['dollar strings', `SELECT $$ ; $$ INTO OUTFILE '${OUT}/dollar.txt'`],
  ['dollar strings', "SELECT $tag$ $$ ' $tag$, file('/etc/hostname')"],
  ['dollar strings', "SELECT 'it''s', file('/etc/hostname')"],
  ['dollar strings', "SELECT 'a\\' INTO OUTFILE ', file('/etc/hostname')"],
  ['heredocs', `SELECT $heredoc$ SELECT 1 $heredoc$ INTO OUTFILE '${OUT}/heredoc.txt'`],
  // Look-alikes: never resolved to the real function, refused as unknown or by the parser.
  ['unicode', "SELECT f\u0456le('/etc/hostname')", 'SQL_ERROR'],
  ['unicode', "SELECT `f\u0456le`('/etc/hostname')"],
  ['unicode', "SELECT * FROM `\uff46ile`('/etc/hostname', 'LineAsString')"],
  ['unicode', "SELECT \uff46\uff49\uff4c\uff45('/etc/hostname')", 'SQL_ERROR'],
  ['unicode', "SELECT * FROM f\u0456le('/etc/hostname', 'LineAsString')", 'SQL_ERROR'],
  // Nesting.
  ['nested', "SELECT * FROM (SELECT * FROM (SELECT * FROM file('/etc/hostname', 'LineAsString')))"],
  ['nested', "SELECT count() FROM lt_events WHERE event_id IN (SELECT * FROM file('/etc/hostname', 'LineAsString'))"],
  ['nested', "SELECT (SELECT file('/etc/hostname'))"],
  ['nested', "SELECT arrayMap(x -> file(x), ['/etc/hostname'])"],
  // CTEs and WITH scalars.
  ['cte', "WITH x AS (SELECT * FROM file('/etc/hostname', 'LineAsString')) SELECT * FROM x"],
  ['cte', 'WITH users AS (SELECT 1) SELECT * FROM system.users'],
  ['cte', "WITH (SELECT file('/etc/hostname')) AS s SELECT s"],
  ['cte', "WITH '/etc/hostname' AS p SELECT file(p)"],
  // EXPLAIN and DESCRIBE wrapping (schema inference reads the file, a URL makes a request).
  ['explain', "EXPLAIN SELECT * FROM file('/etc/hostname', 'LineAsString')"],
  ['explain', "EXPLAIN AST SELECT file('/etc/hostname')"],
  ['explain', "EXPLAIN PIPELINE SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')"],
  ['explain', `EXPLAIN SELECT 1 INTO OUTFILE '${OUT}/explain.txt'`],
  ['explain', "EXPLAIN TABLE OVERRIDE mysql('127.0.0.1:3306', 'db', 't', 'u', 'p') PARTITION BY x"],
  ['explain', "DESCRIBE file('/etc/passwd')"],
  ['explain', "DESCRIBE TABLE url('http://127.0.0.1:1/', 'LineAsString')"],
  // Views and other statements that create or change anything.
  ['views', "CREATE VIEW v AS SELECT * FROM file('/etc/hostname', 'LineAsString')"],
  ['views', "SELECT * FROM view(SELECT file('/etc/hostname'))"],
  ['writes', "INSERT INTO lt_events (event_id, type) VALUES ('x', 'view')"],
  ['writes', `INSERT INTO FUNCTION file('${OUT}/insert.csv', 'CSV') SELECT 1`],
  ['writes', 'CREATE TABLE evil (a UInt8) ENGINE = Memory'],
  ['writes', 'DROP TABLE lt_events'],
  ['writes', 'ALTER TABLE lt_events DELETE WHERE 1'],
  ['writes', `BACKUP TABLE lt_events TO File('${OUT}/backup')`],
  ['writes', "ATTACH TABLE z FROM '/etc' (a UInt8) ENGINE = Memory", 'READ_ONLY'],
  ['writes', 'SYSTEM DROP DNS CACHE'],
  ['writes', 'KILL QUERY WHERE 1'],
  // Output and settings.
  ['output', `SELECT * FROM lt_events INTO OUTFILE '${OUT}/events.csv'`],
  ['output', `SELECT 1 INTO OUTFILE '${OUT}/append.txt' APPEND`],
  ['output', `SELECT 1 INTO OUTFILE '${OUT}/stdout.txt' AND STDOUT`],
  ['output', `SELECT 1 UNION ALL SELECT 2 INTO OUTFILE '${OUT}/union.txt'`],
  ['output', 'SELECT 1 FORMAT TabSeparated'],
  ['settings', 'SELECT 1 SETTINGS readonly = 0'],
  ['settings', 'SELECT count() FROM lt_events SETTINGS max_result_rows = 100000000'],
  ['settings', 'SET readonly = 0'],
  ['settings', 'SELECT 1; SELECT 2', 'SQL_ERROR'],
  // Tables outside the endpoint's database and the harmless system tables.
  ['tables', 'SELECT * FROM system.users'],
  ['tables', 'SELECT * FROM "system"."grants"'],
  ['tables', 'SELECT * FROM `system`.`query_log`'],
  ['tables', 'SELECT * FROM system.named_collections'],
  ['tables', 'SELECT count() FROM lt_events WHERE 1 IN system.processes'],
  ['tables', 'SELECT name FROM information_schema.tables'],
  ['tables', 'SELECT * FROM default.lt_events'],
  ['tables', 'SHOW GRANTS'],
  ['tables', 'SHOW USERS'],
  ['tables', 'SHOW PROCESSLIST'],
  ['tables', 'SHOW CREATE USER default'],
  // Introspection and parameters.
  ['other', 'SELECT addressToSymbol(toUInt64(1))'],
  ['other', 'SELECT {p:String}', 'SQL_ERROR'],
  // A line break in an alias that would add lines to the parse.
  ['parse injection', "SELECT 1 AS `a\n    Literal x`, file('/etc/hostname')"],
  ['parse injection', "SELECT 1 AS `a) (children 1)\n     Literal x`, file('/etc/hostname')"],
];

export const LEGIT: string[] = [
  'SELECT type, count() AS n, sum(amount_fen) AS fen FROM lt_events GROUP BY type ORDER BY type',
  "SELECT city, sum(amount_fen) AS fen FROM lt_events WHERE type = 'sale' GROUP BY city ORDER BY fen DESC LIMIT 5;",
  "WITH t AS (SELECT host_id, sumIf(amount_fen, type = 'sale') AS fen FROM lt_events GROUP BY host_id) SELECT host_id, fen FROM t ORDER BY fen DESC LIMIT 3",
  'WITH 2 AS k SELECT k * count() FROM lt_events',
  'SELECT toStartOfHour(minute) AS h, sum(views) AS views, uniqMerge(viewers) AS viewers FROM lt_rollup_minute GROUP BY h ORDER BY h',
  "SELECT host_id, sum(amount_fen) OVER (PARTITION BY city ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS running FROM lt_events WHERE type = 'sale' LIMIT 5",
  "SELECT arrayMap(x -> x * 2, [1, 2, 3]) AS doubled, CAST(1 AS String) AS s, CASE WHEN 1 THEN 'a' ELSE 'b' END AS c",
  "SELECT quantile(0.9)(amount_fen) AS p90, countIf(type = 'refund') AS refunds FROM lt_events",
  "SELECT e.city, count() FROM lt_events AS e WHERE e.stream_id IN (SELECT stream_id FROM lt_events WHERE type = 'stream_started') GROUP BY e.city",
  'SELECT a.type, b.n FROM (SELECT DISTINCT type FROM lt_events) AS a LEFT JOIN (SELECT type, count() AS n FROM lt_events GROUP BY type) AS b ON a.type = b.type',
  'SELECT count() FROM lt_events UNION ALL SELECT count() FROM lt_rollup_minute',
  "SELECT 'INTO OUTFILE /tmp/x' AS s, 'file(1)' AS f, 1 AS file, 2 AS format",
  'SELECT `type` FROM lt_events LIMIT 1',
  'SELECT name, total_rows FROM system.tables WHERE database = currentDatabase() ORDER BY name',
  "SELECT count() > 0 FROM system.columns WHERE table = 'lt_events'",
  'SELECT 1 FROM system.one',
  'SHOW TABLES',
  'DESCRIBE lt_events',
  'DESC TABLE lt_rollup_minute',
  'EXISTS TABLE lt_events',
  'SHOW CREATE TABLE lt_events',
  'EXPLAIN SELECT count() FROM lt_events',
  'EXPLAIN SYNTAX SELECT count() FROM lt_events WHERE 1',
  'EXPLAIN AST SELECT 1',
  '-- why\n/* nested /* comment */ */ SELECT count() FROM lt_events',
];
