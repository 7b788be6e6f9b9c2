import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlClient } from '@livetally/gateway';
import type { LiveEvent } from '@livetally/events';
import { buildDataset } from '../services/simulator/src/dataset';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';
import { HOSTILE, LEGIT, OUT } from './support/sql-corpus';
import { STACK } from './support/stack';

/**
 * POST /v1/sql against real ClickHouse: engineers' reads work; the hostile corpus (file
 * reads, file writes, network, other tables, settings, however quoted or wrapped) is
 * refused from ClickHouse's own parse and changes nothing; the SQL user is read-only in
 * ClickHouse itself and a gateway given a writing user keeps the endpoint off; over-limit
 * and slow queries are stopped by ClickHouse with the documented errors.
 */
const HOSTNAME = readFileSync('/etc/hostname', 'utf8').trim() || hostname();
const START = Date.parse('2024-08-23T00:00:00+08:00');
const events: LiveEvent[] = buildDataset({ seed: 5, count: 3_000, startTs: START, spanMs: 3_600_000, hosts: 30 }).map(
  (m) => m.event!,
);

let fx: HistoryFixture;
let app: FastifyInstance;
const sql = (query: string, format?: string) =>
  app.inject({ method: 'POST', url: '/v1/sql', payload: format ? { query, format } : { query } });

/** Tables and row counts of the test database, read directly (not through the endpoint). */
async function snapshot(): Promise<string> {
  const rs = await fx.client.query({
    query: `SELECT name, total_rows FROM system.tables WHERE database = {db:String} ORDER BY name`,
    query_params: { db: fx.database },
    format: 'JSONEachRow',
  });
  return JSON.stringify(await rs.json());
}

beforeAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  fx = await startHistoryGateway('gwsql', events, {
    SQL_MAX_ROWS: '10000',
    SQL_MAX_SECONDS: '1',
    SQL_ALLOWED_TABLE_FUNCTIONS: '',
  });
  app = fx.gateway.app;
});

afterAll(async () => {
  await fx?.close();
});

describe('POST /v1/sql on the real stack', () => {
  it('runs a SELECT and returns its rows', async () => {
    const res = await sql(
      'SELECT type, count() AS n, sum(amount_fen) AS fen FROM lt_events GROUP BY type ORDER BY type -- per type\n;',
    );
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      meta: { name: string }[];
      data: { type: string; n: string; fen: string }[];
      rows: number;
    };
    expect(body.meta.map((m) => m.name)).toEqual(['type', 'n', 'fen']);
    const expected = [...new Set(events.map((e) => e.type))].sort().map((type) => ({
      type,
      n: String(events.filter((e) => e.type === type).length),
      fen: String(
        events.reduce(
          (s, e) => s + (e.type === type && (e.type === 'sale' || e.type === 'refund') ? e.amountFen : 0),
          0,
        ),
      ),
    }));
    expect(body.data).toEqual(expected);
    const rollup = await sql(
      'SELECT sum(orders) AS orders, uniqMerge(viewers) > 0 AS some FROM lt_rollup_minute',
      'JSONEachRow',
    );
    expect(rollup.headers['content-type']).toContain('application/x-ndjson');
    expect(JSON.parse(rollup.body)).toEqual({
      orders: String(events.filter((e) => e.type === 'sale').length),
      some: 1,
    });
    const csv = await sql('SHOW TABLES', 'CSVWithNames');
    expect(csv.body.split('\n')).toEqual(
      expect.arrayContaining(['"name"', '"lt_events"', '"lt_rollup_minute"', '"lt_campaigns"']),
    );
  });

  it.each(LEGIT)('runs the engineer query %j', async (query) => {
    const res = await sql(query);
    expect(res.statusCode, res.body).toBe(200);
  });

  it.each(HOSTILE)(
    'refuses the hostile query (%s) %j, reading and writing nothing',
    async (_group, query, code = 'READ_ONLY') => {
      const before = await snapshot();
      const res = await sql(query);
      expect([res.statusCode, res.json().error.code], res.body).toEqual([400, code]);
      expect(res.body).not.toContain(HOSTNAME);
      expect(await snapshot()).toBe(before);
    },
  );

  it('left no file behind from the hostile queries', () => {
    expect(existsSync(OUT) ? readdirSync(OUT) : []).toEqual([]);
  });

  it("is read-only in ClickHouse itself, should anything get past the endpoint's policy", async () => {
    const limits = { maxSeconds: 5, maxRows: 100, maxMemoryBytes: 1 << 30 };
    const client = createSqlClient(
      { url: STACK.clickhouseUrl, ...STACK.clickhouseReader, database: fx.database },
      limits,
    );
    const before = await snapshot();
    const raw = (query: string) => client.query({ query, format: 'JSONEachRow' }).then((rs) => rs.text());
    await expect(raw('CREATE TABLE evil (a UInt8) ENGINE = Memory')).rejects.toMatchObject({
      code: '164',
      type: 'READONLY',
    });
    await expect(raw("INSERT INTO lt_events (event_id) SELECT 'x'")).rejects.toMatchObject({ code: '164' });
    await expect(raw('SELECT 1 SETTINGS readonly = 0')).rejects.toMatchObject({ code: '164' });
    await expect(raw("SELECT file('/etc/hostname')")).rejects.toMatchObject({ code: expect.stringMatching(/^\d+$/) });
    expect(await snapshot()).toBe(before);
    await client.close();
  });

  it('stays off (503 SQL_DISABLED) when CLICKHOUSE_SQL_USER can write', async () => {
    const writer = await startHistoryGateway('gwsqlw', [], {
      CLICKHOUSE_SQL_USER: STACK.clickhouseWriter.username,
      CLICKHOUSE_SQL_PASSWORD: STACK.clickhouseWriter.password,
    });
    try {
      const res = await writer.gateway.app.inject({ method: 'POST', url: '/v1/sql', payload: { query: 'SELECT 1' } });
      expect([res.statusCode, res.json().error.code]).toEqual([503, 'SQL_DISABLED']);
      expect(res.json().error.message).toMatch(/not read-only|more than SELECT/);
    } finally {
      await writer.close();
    }
  });

  it('stops over-limit and slow queries with the documented errors and stays up', async () => {
    const many = await sql('SELECT number FROM system.numbers LIMIT 20000');
    expect(many.statusCode).toBe(400);
    expect(many.json().error).toMatchObject({
      code: 'SQL_LIMIT',
      message: expect.stringContaining('max rows'),
      details: { clickhouseCode: 396, clickhouseType: 'TOO_MANY_ROWS_OR_BYTES', limit: 'SQL_MAX_ROWS' },
    });
    const fewer = await sql('SELECT number FROM system.numbers LIMIT 10000');
    expect([fewer.statusCode, fewer.json().rows]).toEqual([200, 10000]);

    const started = Date.now();
    const slow = await sql('SELECT sleep(3)');
    expect(Date.now() - started).toBeLessThan(2_900);
    expect(slow.statusCode).toBe(408);
    expect(slow.json().error).toMatchObject({
      code: 'SQL_TIMEOUT',
      message: expect.stringContaining('Timeout exceeded'),
      details: { clickhouseCode: 159, limit: 'SQL_MAX_SECONDS' },
    });

    const unknown = await sql('SELECT nope FROM lt_events');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'SQL_ERROR', details: { clickhouseCode: 47 } });

    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await sql('SELECT 1 AS one')).json().data).toEqual([{ one: 1 }]);
    const metrics = (await app.inject('/metrics')).body;
    for (const outcome of ['ok', 'refused', 'limit', 'timeout', 'error'])
      expect(metrics).toMatch(new RegExp(`livetally_gateway_sql_queries_total\\{outcome="${outcome}"\\} [1-9]`));
  });
});
