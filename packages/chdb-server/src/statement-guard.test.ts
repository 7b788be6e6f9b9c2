import { describe, expect, it } from 'vitest';
import { escapeParam } from './engine-inspector';
import { ClickHouseHttpError } from './errors';
import { StatementGuard, type StatementInspector } from './statement-guard';

// Dumps as the engine prints them for `EXPLAIN AST` (ClickHouse 26.7, chDB).
const SELECT_ONE =
  'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal UInt64_1';
const SELECT_FILE =
  "SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Function file (children 1)\n     ExpressionList (children 1)\n      Literal \\'/etc/hostname\\'";
const OUTFILE =
  "SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal \\' x \\'\n Literal \\'/tmp/out.txt\\'";
const INSERT = 'InsertQuery   (children 1)\n Identifier t';
const EXPLAIN_AST_OF_FILE = `Explain EXPLAIN AST (children 1)\n${indent(SELECT_FILE)}`;
const EXPLAIN_SYNTAX_INTO_OUTFILE = `Explain EXPLAIN SYNTAX (children 2)\n${indent(SELECT_ONE)}\n Literal \\'/tmp/x\\'`;
const EXPLAIN_AST_INTO_OUTFILE = `Explain EXPLAIN AST (children 2)\n${indent(SELECT_FILE)}\n Literal \\'/tmp/x\\'`;

function indent(dump: string): string {
  return dump
    .split('\n')
    .map((line) => ` ${line}`)
    .join('\n');
}

/** An engine stand-in answering from recorded parses, counting what it was asked. */
function inspector(parses: Record<string, { formatted?: string; dump: string } | Error>) {
  const calls = { format: 0, explain: [] as string[] };
  const answer = (sql: string) => {
    const parse = parses[sql];
    if (!parse) throw new Error(`no recorded parse for ${sql}`);
    return parse;
  };
  const fake: StatementInspector = {
    async format(sql) {
      calls.format++;
      const parse = answer(sql);
      if (parse instanceof Error) throw parse;
      return parse.formatted ?? sql;
    },
    async explainAst(statement) {
      calls.explain.push(statement);
      const parse =
        Object.values(parses).find((p) => !(p instanceof Error) && (p.formatted ?? '') === statement) ??
        answer(statement);
      if (parse instanceof Error) throw parse;
      return parse.dump;
    },
  };
  return { fake, calls };
}

async function refusal(promise: Promise<unknown>): Promise<ClickHouseHttpError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ClickHouseHttpError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('StatementGuard', () => {
  it('accepts a statement and asks the engine only once per text', async () => {
    const { fake, calls } = inspector({ 'INSERT INTO t FORMAT JSONEachRow': { dump: INSERT } });
    const guard = new StatementGuard(fake);
    for (let i = 0; i < 3; i++)
      expect(await guard.check('INSERT INTO t FORMAT JSONEachRow', {})).toEqual({ type: 'InsertQuery' });
    expect(calls).toEqual({ format: 1, explain: ['INSERT INTO t FORMAT JSONEachRow'] });
  });

  it("explains the engine's own formatting of the text, never the text itself", async () => {
    const text = 'INSERT INTO t FORMAT JSONEachRow\n; SELECT 1';
    const { fake, calls } = inspector({ [text]: { formatted: 'INSERT INTO t FORMAT JSONEachRow', dump: INSERT } });
    await new StatementGuard(fake).check(text, {});
    expect(calls.explain).toEqual(['INSERT INTO t FORMAT JSONEachRow']);
  });

  it('refuses file() and INTO OUTFILE from the parse, and remembers the refusal', async () => {
    const { fake, calls } = inspector({
      "SELECT `file`('/etc/hostname')": { dump: SELECT_FILE },
      "SELECT $a1$ x $a1$ INTO OUTFILE '/tmp/out.txt'": { dump: OUTFILE },
    });
    const guard = new StatementGuard(fake);
    const file = await refusal(guard.check("SELECT `file`('/etc/hostname')", {}));
    expect(file.type).toBe('ACCESS_DENIED');
    expect(file.message).toMatch(/^file reads or writes outside ClickHouse's tables/);
    expect((await refusal(guard.check("SELECT `file`('/etc/hostname')", {}))).message).toBe(file.message);
    expect((await refusal(guard.check("SELECT $a1$ x $a1$ INTO OUTFILE '/tmp/out.txt'", {}))).message).toMatch(
      /INTO OUTFILE is not accepted/,
    );
    expect(calls.format).toBe(2);
  });

  it('refuses VALUES data, whose ";" chDB would take as the start of another statement', async () => {
    const text = "INSERT INTO t VALUES (1); SELECT 1 INTO OUTFILE '/tmp/x'";
    const { fake } = inspector({ [text]: { formatted: 'INSERT INTO t FORMAT Values', dump: INSERT } });
    const err = await refusal(new StatementGuard(fake).check(text, {}));
    expect(err.type).toBe('NOT_IMPLEMENTED');
    expect(err.message).toMatch(/VALUES/);
  });

  it('lets EXPLAIN AST name anything (it only parses), but not write its own output to a file', async () => {
    const { fake } = inspector({
      "EXPLAIN AST SELECT file('/etc/hostname')": { dump: EXPLAIN_AST_OF_FILE },
      "EXPLAIN AST SELECT file('/etc/hostname') INTO OUTFILE '/tmp/x'": { dump: EXPLAIN_AST_INTO_OUTFILE },
      "EXPLAIN SYNTAX SELECT 1 INTO OUTFILE '/tmp/x'": { dump: EXPLAIN_SYNTAX_INTO_OUTFILE },
    });
    const guard = new StatementGuard(fake);
    expect(await guard.check("EXPLAIN AST SELECT file('/etc/hostname')", {})).toEqual({ type: 'Explain' });
    expect(
      (await refusal(guard.check("EXPLAIN AST SELECT file('/etc/hostname') INTO OUTFILE '/tmp/x'", {}))).message,
    ).toMatch(/INTO OUTFILE/);
    expect((await refusal(guard.check("EXPLAIN SYNTAX SELECT 1 INTO OUTFILE '/tmp/x'", {}))).message).toMatch(
      /INTO OUTFILE/,
    );
  });

  it("passes the engine's error on, and asks again next time", async () => {
    const { fake, calls } = inspector({
      'SELEC 1': new ClickHouseHttpError(62, 'SYNTAX_ERROR', 'Code: 62. DB::Exception: Syntax error. (SYNTAX_ERROR)'),
    });
    const guard = new StatementGuard(fake);
    expect((await refusal(guard.check('SELEC 1', {}))).code).toBe(62);
    expect((await refusal(guard.check('SELEC 1', {}))).code).toBe(62);
    expect(calls.format).toBe(2);
    expect(guard.size).toBe(0);
  });

  it('refuses a parse it cannot read (a line break smuggled into a name)', async () => {
    const { fake } = inspector({
      'SELECT 1 AS `a\n    Literal x`': { dump: `${SELECT_ONE} (alias a\n    Literal x)` },
    });
    expect((await refusal(new StatementGuard(fake).check('SELECT 1 AS `a\n    Literal x`', {}))).message).toMatch(
      /could not be read/,
    );
  });

  it('keeps a bounded number of verdicts and does not cache long texts', async () => {
    const parses = Object.fromEntries(['SELECT 1', 'SELECT 2', 'SELECT 3'].map((sql) => [sql, { dump: SELECT_ONE }]));
    const long = `SELECT 1 -- ${'x'.repeat(100)}`;
    const { fake, calls } = inspector({ ...parses, [long]: { dump: SELECT_ONE } });
    const guard = new StatementGuard(fake, { maxEntries: 2, maxCachedLength: 50 });
    for (const sql of ['SELECT 1', 'SELECT 2', 'SELECT 3', long, long]) await guard.check(sql, {});
    expect(guard.size).toBe(2);
    expect(calls.format).toBe(5);
  });
});

describe('escapeParam', () => {
  it("writes a String parameter in ClickHouse's escaped form", () => {
    expect(escapeParam("a\\b\tc\nd\re\0f'g")).toBe("a\\\\b\\tc\\nd\\re\\0f'g");
  });
});
