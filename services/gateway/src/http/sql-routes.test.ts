import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSql, clickhouseError, makeApiApp } from '../testing/api-fakes';
import { GatewayError } from '../errors';
import type { RoleCheck } from './access';

let app: FastifyInstance | undefined;

async function setup(authorize?: RoleCheck) {
  const sql = new FakeSql();
  app = await makeApiApp({ sql, authorize });
  const post = (body: unknown) => app!.inject({ method: 'POST', url: '/v1/sql', payload: body as object });
  return { app, sql, post };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('POST /v1/sql', () => {
  it("returns ClickHouse's output untouched in the chosen format", async () => {
    const { sql, post } = await setup();
    sql.answer = async () => '{"meta":[{"name":"n","type":"UInt64"}],"data":[{"n":"18446744073709551615"}],"rows":1}';
    const res = await post({ query: 'SELECT 1;' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toBe('{"meta":[{"name":"n","type":"UInt64"}],"data":[{"n":"18446744073709551615"}],"rows":1}');
    sql.answer = async () => 'n\n1\n';
    const csv = await post({ query: 'SELECT 1 AS n', format: 'CSVWithNames' });
    expect([csv.headers['content-type'], csv.body]).toEqual(['text/csv; charset=utf-8', 'n\n1\n']);
    expect(sql.queries).toEqual([
      { query: 'SELECT 1', format: 'JSON' },
      { query: 'SELECT 1 AS n', format: 'CSVWithNames' },
    ]);
  });

  it('answers a refusal with 400 READ_ONLY, its rule in details, without running anything', async () => {
    const { sql, post } = await setup();
    sql.verdict = async () => ({
      ok: false,
      refusal: 'FUNCTION',
      reason: 'file() reads outside the tables this endpoint may read and is not accepted',
    });
    const res = await post({ query: "SELECT `file`('/etc/hostname')" });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 'READ_ONLY',
        message: 'file() reads outside the tables this endpoint may read and is not accepted',
        details: { refusal: 'FUNCTION' },
      },
    });
    expect(sql.queries).toEqual([]);
  });

  it('answers 503 SQL_DISABLED when the SQL user turned out to be able to write', async () => {
    const { sql, post } = await setup();
    sql.verdict = async () => {
      throw new GatewayError('SQL_DISABLED', 'the SQL endpoint is off: the ClickHouse user "default" is not read-only');
    };
    const res = await post({ query: 'SELECT 1' });
    expect([res.statusCode, res.json().error.code]).toEqual([503, 'SQL_DISABLED']);
  });

  it("answers a syntax error with ClickHouse's message", async () => {
    const { sql, post } = await setup();
    sql.verdict = async () => {
      throw clickhouseError(62, 'SYNTAX_ERROR', 'Syntax error: failed at position 8');
    };
    const res = await post({ query: 'SELECT (' });
    expect([res.statusCode, res.json().error.code, res.json().error.details.clickhouseType]).toEqual([
      400,
      'SQL_ERROR',
      'SYNTAX_ERROR',
    ]);
  });

  it('validates the body', async () => {
    const { post } = await setup();
    for (const body of [{}, { query: '' }, { query: 'SELECT 1', format: 'Parquet' }]) {
      const res = await post(body);
      expect([res.statusCode, res.json().error.code]).toEqual([400, 'BAD_REQUEST']);
    }
    expect((await post({ query: 'SELECT 1', format: 'Parquet' })).json().error.message).toContain(
      'JSON, JSONCompact, JSONEachRow, CSVWithNames, TabSeparatedWithNames',
    );
  });

  it.each([
    [
      159,
      'TIMEOUT_EXCEEDED',
      'Timeout exceeded: elapsed 1001 ms, maximum: 1000 ms.',
      408,
      'SQL_TIMEOUT',
      'SQL_MAX_SECONDS',
    ],
    [
      396,
      'TOO_MANY_ROWS_OR_BYTES',
      'Limit for result exceeded, max rows: 10.00 thousand',
      400,
      'SQL_LIMIT',
      'SQL_MAX_ROWS',
    ],
    [241, 'MEMORY_LIMIT_EXCEEDED', 'Query memory limit exceeded', 400, 'SQL_LIMIT', 'SQL_MAX_MEMORY_BYTES'],
    [164, 'READONLY', 'Cannot execute query in readonly mode.', 400, 'READ_ONLY', undefined],
    [60, 'UNKNOWN_TABLE', 'Table default.nope does not exist.', 400, 'SQL_ERROR', undefined],
  ])('maps ClickHouse code %i to %s', async (chCode, chType, message, status, code, limit) => {
    const { sql, post } = await setup();
    sql.answer = async () => {
      throw clickhouseError(chCode, chType, message);
    };
    const res = await post({ query: 'SELECT 1' });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({
      error: {
        code,
        message,
        details: { clickhouseCode: chCode, clickhouseType: chType, ...(limit ? { limit } : {}) },
      },
    });
  });

  it('answers 503 when ClickHouse does not answer, and counts outcomes in /metrics', async () => {
    const { app, sql, post } = await setup();
    sql.answer = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    };
    const res = await post({ query: 'SELECT 1' });
    expect([res.statusCode, res.json().error.code]).toEqual([503, 'UNAVAILABLE']);
    sql.verdict = async () => ({ ok: false, refusal: 'STATEMENT', reason: 'DROP is not accepted' });
    await post({ query: 'DROP TABLE x' });
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('livetally_gateway_sql_queries_total{outcome="unavailable"} 1');
    expect(metrics).toContain('livetally_gateway_sql_queries_total{outcome="refused"} 1');
  });

  it('asks the role check for the engineer role (403 FORBIDDEN when refused)', async () => {
    const asked: string[] = [];
    const { sql, post } = await setup((request, role) => {
      asked.push(role);
      return request.headers['x-role'] === 'engineer';
    });
    const res = await post({ query: 'SELECT 1' });
    expect([res.statusCode, res.json().error.code, asked]).toEqual([403, 'FORBIDDEN', ['engineer']]);
    expect(sql.queries).toEqual([]);
    const ok = await app!.inject({
      method: 'POST',
      url: '/v1/sql',
      payload: { query: 'SELECT 1' },
      headers: { 'x-role': 'engineer' },
    });
    expect(ok.statusCode).toBe(200);
  });
});
