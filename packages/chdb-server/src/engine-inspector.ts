import type { ChdbEngine } from './engine';
import { ClickHouseHttpError } from './errors';
import type { StatementInspector } from './statement-guard';

const FORMAT_CALL = 'formatQuerySingleLine';

/**
 * The statement guard's questions, asked of the engine itself. The text to check is
 * bound as a query parameter, never spliced into SQL, so it cannot run; only the
 * engine's own formatting of it (exactly one statement, without inline data) is
 * placed after `EXPLAIN AST`.
 */
export function engineInspector(engine: ChdbEngine): StatementInspector {
  const rows = async (sql: string, params: Record<string, string>): Promise<Array<Record<string, string>>> => {
    const result = await engine.run({
      statement: { kind: 'sql', sql },
      params,
      settings: [],
      format: 'JSONEachRow',
      sticky: false,
    });
    return Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength)
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, string>);
  };
  return {
    async format(sql) {
      try {
        const [row] = await rows(`SELECT ${FORMAT_CALL}({statement:String}) AS formatted`, {
          statement: escapeParam(sql),
        });
        return row?.formatted ?? '';
      } catch (err) {
        throw err instanceof ClickHouseHttpError ? withoutWrapper(err) : err;
      }
    },
    async explainAst(statement, params) {
      // One node per row: a line break inside a name stays inside its row's value, where the dump reader finds it.
      return (await rows(`EXPLAIN AST ${statement}`, params))
        .map((row) => String(Object.values(row)[0] ?? ''))
        .join('\n');
    },
  };
}

/** A String query parameter in ClickHouse's escaped text form (what `param_<name>` carries over HTTP). */
export function escapeParam(value: string): string {
  return value.replace(
    /[\\\t\n\r\0]/g,
    (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' })[c]!,
  );
}

/** The engine's error about the statement, without the wrapper query it was asked through. */
function withoutWrapper(err: ClickHouseHttpError): ClickHouseHttpError {
  const at = err.message.search(new RegExp(`\\s?:? In scope SELECT ${FORMAT_CALL}\\(`));
  if (at < 0) return err;
  // The exception's own name ends the message; an earlier "(WORD)" may be part of the statement.
  const type = /\(([A-Z0-9_]+)\)\s*$/.exec(err.message)?.[1] ?? err.type;
  return new ClickHouseHttpError(
    err.code,
    type,
    `${err.message.slice(0, at).replace(/[\s.:]+$/, '')}. (${type})`,
    err.status,
  );
}
