import type { FastifyInstance } from 'fastify';
import { GatewayError, type ErrorCode } from '../errors';
import { requireRole, type RoleCheck } from './access';
import { errorResponses } from './schemas';
import { SQL_FORMATS, type SqlFormat, type SqlRunner } from './types';

export interface SqlRouteDeps {
  sql?: SqlRunner;
  authorize?: RoleCheck;
  /** Reports each query's outcome (refused, ok, timeout, limit, error, unavailable) and duration. */
  onQuery?(outcome: string, durationMs: number): void;
}

/** ClickHouse exception codes with an answer of their own; every other code is SQL_ERROR. */
const BY_CLICKHOUSE_CODE: Record<string, { code: ErrorCode; limit?: string }> = {
  '159': { code: 'SQL_TIMEOUT', limit: 'SQL_MAX_SECONDS' }, // TIMEOUT_EXCEEDED
  '160': { code: 'SQL_TIMEOUT', limit: 'SQL_MAX_SECONDS' }, // TOO_SLOW (estimated to exceed the time limit)
  '396': { code: 'SQL_LIMIT', limit: 'SQL_MAX_ROWS' }, // TOO_MANY_ROWS_OR_BYTES
  '158': { code: 'SQL_LIMIT', limit: 'SQL_MAX_ROWS' }, // TOO_MANY_ROWS
  '241': { code: 'SQL_LIMIT', limit: 'SQL_MAX_MEMORY_BYTES' }, // MEMORY_LIMIT_EXCEEDED
  '164': { code: 'READ_ONLY' }, // READONLY: a write or a settings change reached ClickHouse, which refused it
  '497': { code: 'READ_ONLY' }, // ACCESS_DENIED: the SQL user's grants refused it (the stand-in refuses file()/url() this way too)
};

export const SQL_BODY_LIMIT_BYTES = 512 * 1024;

const OUTCOME: Partial<Record<ErrorCode, string>> = {
  SQL_TIMEOUT: 'timeout',
  SQL_LIMIT: 'limit',
  READ_ONLY: 'refused',
  SQL_ERROR: 'error',
};

/** POST /v1/sql: read-only SQL for engineers, under fixed limits. */
export function registerSqlRoutes(app: FastifyInstance, deps: SqlRouteDeps): void {
  app.post<{ Body: { query: string; format: SqlFormat } }>(
    '/v1/sql',
    {
      preHandler: requireRole('engineer', deps.authorize),
      // Room for a 100 000-character statement (up to 4 bytes each, JSON-escaped), above
      // GATEWAY_BODY_LIMIT_BYTES; with GATEWAY_AUTH=on only engineers get as far as the body.
      bodyLimit: SQL_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Run one read-only SQL statement against ClickHouse',
        description:
          "Accepts one SELECT/WITH, SHOW TABLES, SHOW CREATE TABLE, DESCRIBE, EXISTS or EXPLAIN statement, judged from ClickHouse's own parse (EXPLAIN AST): " +
          'only functions the engine lists (none that read files, the network, processes, dictionaries or Join tables), no table functions unless SQL_ALLOWED_TABLE_FUNCTIONS ' +
          'names them, tables of the configured database and harmless system tables only, no INTO OUTFILE, no FORMAT clause, no SETTINGS. Refusals are 400 READ_ONLY with ' +
          'details.refusal (STATEMENT, OUTPUT, SETTINGS, FUNCTION, TABLE_FUNCTION, TABLE, EXTERNAL, SYNTAX). It runs as CLICKHOUSE_SQL_USER, which must be read-only in ' +
          'ClickHouse itself (checked before the first query; otherwise 503 SQL_DISABLED), with max_execution_time = SQL_MAX_SECONDS, ' +
          "max_result_rows = SQL_MAX_ROWS (result_overflow_mode 'throw') and max_memory_usage = SQL_MAX_MEMORY_BYTES. The answer is ClickHouse's own output in the chosen format.",
        tags: ['sql'],
        'x-required-role': 'engineer',
        body: {
          type: 'object',
          required: ['query'],
          properties: {
            query: { type: 'string', minLength: 1, maxLength: 100_000 },
            format: { type: 'string', enum: Object.keys(SQL_FORMATS), default: 'JSON' },
          },
        },
        response: {
          200: {
            description:
              "ClickHouse's output; for JSON: { meta: [{name, type}], data: [rows], rows, statistics }. 64-bit integers are strings.",
            type: 'object',
            properties: {
              meta: {
                type: 'array',
                items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' } } },
              },
              data: { type: 'array', items: {} },
              rows: { type: 'integer' },
            },
          },
          ...errorResponses(
            'BAD_REQUEST',
            'READ_ONLY',
            'SQL_ERROR',
            'SQL_LIMIT',
            'FORBIDDEN',
            'SQL_TIMEOUT',
            'UNAVAILABLE',
            'SQL_DISABLED',
          ),
        },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const report = (outcome: string) => deps.onQuery?.(outcome, performance.now() - started);
      if (!deps.sql) throw new GatewayError('UNAVAILABLE', 'the SQL endpoint is not configured on this gateway');
      const format = request.body.format;
      let text: string;
      try {
        const vetting = await deps.sql.vet(request.body.query);
        if (!vetting.ok) {
          report('refused');
          throw new GatewayError('READ_ONLY', vetting.reason, { refusal: vetting.refusal });
        }
        text = await deps.sql.run(vetting.statement, format);
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        const mapped = mapSqlError(err);
        report(OUTCOME[mapped.code] ?? 'unavailable');
        if (mapped.code === 'UNAVAILABLE') request.log.warn({ err }, 'SQL query failed without a ClickHouse answer');
        throw mapped;
      }
      report('ok');
      reply.header('cache-control', 'no-store').type(SQL_FORMATS[format]);
      return reply.send(text);
    },
  );
}

/** A ClickHouse exception keeps ClickHouse's message; a failure without one (connection, timeout) is UNAVAILABLE. */
export function mapSqlError(err: unknown): GatewayError {
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  if (typeof e?.code !== 'string' || !/^\d+$/.test(e.code))
    return new GatewayError('UNAVAILABLE', 'ClickHouse did not answer; try again shortly');
  const known = BY_CLICKHOUSE_CODE[e.code];
  const details = {
    clickhouseCode: Number(e.code),
    clickhouseType: typeof e.type === 'string' ? e.type : undefined,
    ...(known?.limit ? { limit: known.limit } : {}),
  };
  return new GatewayError(
    known?.code ?? 'SQL_ERROR',
    String(e.message ?? '').trim() || 'ClickHouse refused the query',
    details,
  );
}
