import { externalAccess, isStatement, parseAstDump, type AstNode } from '@livetally/clickhouse-ast';
import { ClickHouseHttpError, ErrorCode } from './errors';

/**
 * Decides from ClickHouse's own parse, before a statement runs, whether it may run at
 * all. chDB is clickhouse-local: the scalar file() reads any path whatever the grants,
 * `INTO OUTFILE` and `FROM INFILE` read and write files, and several statements in one
 * text all run. So every statement is first formatted by the engine (which refuses
 * anything but exactly one statement, with ClickHouse's own lexer), then the engine's
 * `EXPLAIN AST` of that formatting is read (@livetally/clickhouse-ast) and refused
 * when it reaches outside ClickHouse's tables, however the names were quoted or cased.
 *
 * Verdicts are cached by statement text: the hot insert path sends the same
 * `INSERT ... FORMAT` prefix every time and pays nothing after the first.
 */

/** What the guard needs from the engine; both calls must not run the statement. */
export interface StatementInspector {
  /** The engine's one-line formatting of the text; throws the engine's error unless it is exactly one statement. */
  format(sql: string): Promise<string>;
  /** The engine's `EXPLAIN AST` dump of a statement, one node per line. */
  explainAst(statement: string, params: Record<string, string>): Promise<string>;
}

/** What is known about an accepted statement. */
export interface StatementFacts {
  /** The parse's root node type: SelectWithUnionQuery, InsertQuery, Explain, ShowGrantsQuery, … */
  type: string;
}

type Verdict = { ok: true; facts: StatementFacts } | { ok: false; error: ClickHouseHttpError };

export interface StatementGuardOptions {
  /** Verdicts kept (default 2000); the oldest goes first. */
  maxEntries?: number;
  /** Longer texts (inline insert data) are checked every time instead of cached. Default 64 KiB. */
  maxCachedLength?: number;
}

export class StatementGuard {
  private readonly verdicts = new Map<string, Promise<Verdict>>();
  private readonly cache: Required<StatementGuardOptions>;

  constructor(
    private readonly inspector: StatementInspector,
    { maxEntries = 2000, maxCachedLength = 64 * 1024 }: StatementGuardOptions = {},
  ) {
    this.cache = { maxEntries, maxCachedLength };
  }

  /** The statement's facts; throws a ClickHouse-shaped error when it may not run (or does not parse). */
  async check(sql: string, params: Record<string, string>): Promise<StatementFacts> {
    let verdict = this.verdicts.get(sql);
    if (!verdict) {
      verdict = this.judge(sql, params);
      if (sql.length <= this.cache.maxCachedLength) this.remember(sql, verdict);
    }
    const result = await verdict;
    if (!result.ok) throw result.error;
    return result.facts;
  }

  /** Cached entries, for tests. */
  get size(): number {
    return this.verdicts.size;
  }

  private remember(sql: string, verdict: Promise<Verdict>): void {
    if (this.verdicts.size >= this.cache.maxEntries) this.verdicts.delete(this.verdicts.keys().next().value!);
    this.verdicts.set(sql, verdict);
    // Engine errors (syntax, missing parameter values) are not verdicts: the next request asks again.
    verdict.catch(() => this.verdicts.delete(sql));
  }

  private async judge(sql: string, params: Record<string, string>): Promise<Verdict> {
    const formatted = await this.inspector.format(sql);
    const parsed = parseAstDump(await this.inspector.explainAst(formatted, params));
    if (!parsed.ok) return refuse(`ClickHouse's parse of the statement could not be read (${parsed.reason})`);
    const { root } = parsed;
    if (root.type === 'InsertQuery' && /\sFORMAT\s+Values\s*$/i.test(formatted)) {
      // clickhouse-local ends VALUES data at the first ';' and runs what follows as more statements.
      return refuse(
        'INSERT ... VALUES (format Values) is not accepted by chdb-server: chDB would run text after a ";" in the data as further statements; send the rows in another format such as JSONEachRow',
        ErrorCode.NOT_IMPLEMENTED,
      );
    }
    const reason = externalAccess(parseOnly(root));
    if (reason) return refuse(reason);
    return { ok: true, facts: { type: root.type } };
  }
}

/**
 * `EXPLAIN AST` only parses the statement it explains, so what that statement names
 * is not checked; anything of the EXPLAIN itself (an INTO OUTFILE of its output) is.
 */
function parseOnly(root: AstNode): AstNode {
  if (root.type !== 'Explain' || root.name !== 'EXPLAIN AST') return root;
  const explained = root.children.findIndex(isStatement);
  return { ...root, children: root.children.filter((_, i) => i !== explained) };
}

function refuse(message: string, code: number = ErrorCode.ACCESS_DENIED): Verdict {
  return { ok: false, error: ClickHouseHttpError.of(code, message) };
}
