import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  ClickHouseError,
  ClickHouseLogLevel,
  createClient as createClickHouseClient,
  type ClickHouseClient,
} from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, startChdbServer, type ChdbServer } from '../packages/chdb-server/src/index';

// Everything below talks to the server only through @clickhouse/client, the
// way the services do, so a pass means the client accepts this server as ClickHouse.

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chdb-server-test-'));
const logger = createLogger('silent');
const writer = { user: 'app', password: 'app-secret' };
let server: ChdbServer;
let client: ClickHouseClient;

// The client logs every failed request; the failures here are deliberate. It signs in as
// the writer unless told otherwise.
const createClient: typeof createClickHouseClient = (config) =>
  createClickHouseClient({
    username: writer.user,
    password: writer.password,
    ...config,
    log: { level: ClickHouseLogLevel.OFF },
  });

async function clickHouseError(promise: Promise<unknown>): Promise<ClickHouseError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ClickHouseError) return err;
    throw err;
  }
  throw new Error('expected the request to fail with a ClickHouseError');
}

async function count(c: ClickHouseClient, table: string): Promise<number> {
  const rs = await c.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: string }>();
  return Number(row!.n);
}

beforeAll(async () => {
  server = await startChdbServer({ dataDir, port: 0, logger, writer });
  client = createClient({ url: server.url });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('chdb-server through @clickhouse/client', () => {
  it('answers ping', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await client.ping()).toEqual({ success: true });
    // The SELECT form goes through GET /?query=, which ClickHouse serves read-only.
    expect(await client.ping({ select: true })).toEqual({ success: true });
  });

  it('runs DDL and inserts JSONEachRow, reporting what was written', async () => {
    await client.command({
      query: `CREATE TABLE events (id UInt64, name String, tags Array(String), ts DateTime64(3, 'UTC'))
              ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100`,
    });
    const result = await client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [
        { id: '18446744073709551615', name: 'max', tags: ['a', 'b'], ts: '2024-01-02 03:04:05.678' },
        { id: 1, name: "tab\there 'q' \\ back", tags: [], ts: '2024-01-01 00:00:00.000' },
      ],
    });
    expect(result.executed).toBe(true);
    expect(result.summary?.written_rows).toBe('2');
    expect(await count(client, 'events')).toBe(2);
  });

  it('counts a retried insert with the same insert_deduplication_token once', async () => {
    const insert = (token: string) =>
      client.insert({
        table: 'events',
        format: 'JSONEachRow',
        values: [{ id: 100, name: 'retry', tags: [], ts: '2024-02-01 00:00:00.000' }],
        clickhouse_settings: { insert_deduplication_token: token },
      });
    await insert('batch-1');
    await insert('batch-1');
    expect(await count(client, "events WHERE name = 'retry'")).toBe(1);
    await insert('batch-2');
    expect(await count(client, "events WHERE name = 'retry'")).toBe(2);
  });

  it('runs requests concurrently, one per session, and still counts concurrent retries once', async () => {
    // Two sessions (the default): two one-second sleeps overlap instead of queueing.
    const started = performance.now();
    await Promise.all(
      [1, 2].map(() => client.query({ query: 'SELECT sleep(1) AS s', format: 'JSONEachRow' }).then((rs) => rs.json())),
    );
    expect(performance.now() - started).toBeLessThan(1_800);

    const insert = () =>
      client.insert({
        table: 'events',
        format: 'JSONEachRow',
        values: [{ id: 101, name: 'concurrent-retry', tags: [], ts: '2024-02-01 00:00:00.000' }],
        clickhouse_settings: { insert_deduplication_token: 'batch-concurrent' },
      });
    await Promise.all([insert(), insert(), insert()]);
    expect(await count(client, "events WHERE name = 'concurrent-retry'")).toBe(1);
  });

  it('treats an INSERT with an empty body as a successful no-op', async () => {
    const before = await count(client, 'events');
    const result = await client.exec({ query: 'INSERT INTO events FORMAT JSONEachRow', values: Readable.from([]) });
    result.stream.resume();
    expect(await count(client, 'events')).toBe(before);
  });

  it('binds query parameters exactly, including escapes, big integers, arrays and dates', async () => {
    const tricky = 'tab\there, new\nline, back\\slash, \'single\' "double" — ünïcödé {braces}';
    const arr = ["it's", 'a\\b', 'c\td', '', 'e,f]'];
    const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    const rs = await client.query({
      query: `SELECT {s:String} AS s, {u:UInt64} AS u, {a:Array(String)} AS a,
                     {d:DateTime64(3, 'UTC')} AS d, {i:Int32} AS i, {f:Float64} AS f`,
      format: 'JSONEachRow',
      query_params: { s: tricky, u: 2n ** 63n + 5n, a: arr, d: when, i: -42, f: 1.5 },
    });
    const [row] = await rs.json<{ s: string; u: string; a: string[]; d: string; i: number; f: number }>();
    expect(row).toEqual({ s: tricky, u: '9223372036854775813', a: arr, d: '2024-01-02 03:04:05.678', i: -42, f: 1.5 });

    const stored = await client.query({
      query: 'SELECT id, name FROM events WHERE id = {id:UInt64}',
      format: 'JSONEachRow',
      query_params: { id: '18446744073709551615' },
    });
    expect(await stored.json()).toEqual([{ id: '18446744073709551615', name: 'max' }]);
  });

  it('takes long parameters in the URL, and refuses them as a multipart body (a form a web page could send)', async () => {
    const long = 'x'.repeat(10_000) + "'\t\\";
    const query = {
      query: 'SELECT length({s:String}) AS n, right({s:String}, 3) AS tail',
      format: 'JSONEachRow' as const,
      query_params: { s: long },
    };
    expect(await (await client.query(query)).json()).toEqual([{ n: '10003', tail: "'\t\\" }]);
    const multipart = await clickHouseError(client.query({ ...query, use_multipart_params: true }));
    expect(multipart.type).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers in JSON, JSONEachRow, JSONCompactEachRow and TabSeparated', async () => {
    const query = 'SELECT id, name FROM events WHERE id IN (1, 18446744073709551615) ORDER BY id';
    const json = await (await client.query({ query, format: 'JSON' })).json<{ id: string; name: string }>();
    expect(json.meta).toEqual([
      { name: 'id', type: 'UInt64' },
      { name: 'name', type: 'String' },
    ]);
    expect(json.data).toEqual([
      { id: '1', name: "tab\there 'q' \\ back" },
      { id: '18446744073709551615', name: 'max' },
    ]);
    expect(json.rows).toBe(2);

    const compact = await client.query({ query, format: 'JSONCompactEachRow' });
    expect(await compact.json()).toEqual([
      ['1', "tab\there 'q' \\ back"],
      ['18446744073709551615', 'max'],
    ]);

    const tsv = await client.query({ query, format: 'TabSeparated' });
    expect(await tsv.text()).toBe("1\ttab\\there \\'q\\' \\\\ back\n18446744073709551615\tmax\n");
    expect(tsv.response_headers['x-clickhouse-format']).toBe('TabSeparated');
  });

  it('surfaces server errors as ClickHouseError with code and type', async () => {
    const unknownTable = await clickHouseError(client.query({ query: 'SELECT * FROM no_such_table' }));
    expect(unknownTable.code).toBe('60');
    expect(unknownTable.type).toBe('UNKNOWN_TABLE');

    // Not 'SELEC 1': a server's message names the token in capitals, "(SELEC)", and the client takes the first such word for the type.
    const syntax = await clickHouseError(client.command({ query: 'SELECT 1 FROM' }));
    expect(syntax.code).toBe('62');
    expect(syntax.type).toBe('SYNTAX_ERROR');

    const insertIntoMissing = await clickHouseError(
      client.insert({ table: 'no_such_table', format: 'JSONEachRow', values: [{ a: 1 }] }),
    );
    expect(insertIntoMissing.code).toBe('60');
  });

  it('keeps one query’s settings away from the next', async () => {
    const tooMany = await clickHouseError(
      client.query({
        query: 'SELECT number FROM numbers(10)',
        clickhouse_settings: { max_result_rows: '1', result_overflow_mode: 'throw' },
      }),
    );
    expect(tooMany.type).toBe('TOO_MANY_ROWS_OR_BYTES');

    const next = await client.query({ query: 'SELECT number FROM numbers(10)', format: 'JSONEachRow' });
    expect(await next.json()).toHaveLength(10);

    const setting = await client.query({
      query: "SELECT toString(getSetting('max_result_rows')) AS v",
      format: 'JSONEachRow',
      clickhouse_settings: { max_result_rows: '7' },
    });
    expect(await setting.json()).toEqual([{ v: '7' }]);
    const after = await client.query({
      query: "SELECT toString(getSetting('max_result_rows')) AS v",
      format: 'JSONEachRow',
    });
    expect(await after.json()).toEqual([{ v: '0' }]);
  });

  it('does not let SET or USE statements outlive their request', async () => {
    await client.command({ query: 'SET max_result_rows = 3' });
    const rows = await client.query({ query: 'SELECT number FROM numbers(5)', format: 'JSONEachRow' });
    expect(await rows.json()).toHaveLength(5);

    await client.command({ query: 'USE system' });
    const db = await client.query({ query: 'SELECT currentDatabase() AS db', format: 'JSONEachRow' });
    expect(await db.json()).toEqual([{ db: 'default' }]);
  });

  it('refuses multi-statement requests, as ClickHouse does', async () => {
    const err = await clickHouseError(client.command({ query: 'SELECT 1; DROP TABLE events' }));
    expect(err.code).toBe('62');
    expect(await count(client, 'events')).toBeGreaterThan(0);
  });

  it('gives concurrent requests each their own settings', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const rs = await client.query({
          query: "SELECT toString(getSetting('max_block_size')) AS v",
          format: 'JSONEachRow',
          clickhouse_settings: { max_block_size: String(1000 + i) },
        });
        const [row] = await rs.json<{ v: string }>();
        return row!.v;
      }),
    );
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => String(1000 + i)));
  });

  it('rejects writes under readonly and lifts readonly afterwards', async () => {
    const before = await count(client, 'events');
    const denied = await clickHouseError(
      client.insert({
        table: 'events',
        format: 'JSONEachRow',
        values: [{ id: 7, name: 'ro', tags: [], ts: '2024-03-01 00:00:00.000' }],
        clickhouse_settings: { readonly: '1' },
      }),
    );
    expect(denied.code).toBe('164');
    expect(denied.type).toBe('READONLY');
    const ddl = await clickHouseError(
      client.command({ query: 'CREATE TABLE ro_t (a UInt8) ENGINE = Memory', clickhouse_settings: { readonly: '2' } }),
    );
    expect(ddl.code).toBe('164');
    const reads = await client.query({
      query: 'SELECT 1 AS one',
      format: 'JSONEachRow',
      clickhouse_settings: { readonly: '1' },
    });
    expect(await reads.json()).toEqual([{ one: 1 }]);

    await client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [{ id: 8, name: 'rw', tags: [], ts: '2024-03-01 00:00:00.000' }],
    });
    expect(await count(client, 'events')).toBe(before + 1);
  });

  it('uses the database the client is configured with, for that request only', async () => {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS other' });
    await client.command({ query: 'CREATE TABLE other.things (x UInt8) ENGINE = MergeTree ORDER BY x' });
    const otherClient = createClient({ url: server.url, database: 'other' });
    try {
      await otherClient.insert({ table: 'things', format: 'JSONEachRow', values: [{ x: 1 }, { x: 2 }] });
      const rs = await otherClient.query({
        query: 'SELECT currentDatabase() AS db, count() AS n FROM things',
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ db: 'other', n: '2' }]);
    } finally {
      await otherClient.close();
    }
    const rs = await client.query({ query: 'SELECT currentDatabase() AS db', format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ db: 'default' }]);
  });

  it('speaks gzip both ways when compression is on', async () => {
    const gzipClient = createClient({ url: server.url, compression: { request: true, response: true } });
    try {
      const rows = Array.from({ length: 500 }, (_, i) => ({
        id: 10_000 + i,
        name: `gz-${i}`,
        tags: ['z'],
        ts: '2024-04-01 00:00:00.000',
      }));
      const inserted = await gzipClient.insert({ table: 'events', format: 'JSONEachRow', values: rows });
      expect(inserted.summary?.written_rows).toBe('500');

      const rs = await gzipClient.query({
        query: "SELECT name FROM events WHERE name LIKE 'gz-%' ORDER BY id",
        format: 'JSONCompactEachRow',
      });
      expect(rs.response_headers['content-encoding']).toBe('gzip');
      const names = await rs.json<[string]>();
      expect(names).toHaveLength(500);
      expect(names[499]).toEqual(['gz-499']);

      const err = await clickHouseError(gzipClient.query({ query: 'SELECT * FROM still_missing' }));
      expect(err.code).toBe('60');
    } finally {
      await gzipClient.close();
    }
  });

  it('keeps data across a restart, and enforces credentials and the body limit', async () => {
    const before = await count(client, 'events');
    await client.close();
    await server.close();

    server = await startChdbServer({
      dataDir,
      port: 0,
      logger,
      writer: { user: 'app', password: 's3cret' },
      maxBodyBytes: 64 * 1024,
    });
    client = createClient({ url: server.url, username: 'app', password: 's3cret' });
    expect(await count(client, 'events')).toBe(before);
    const rs = await client.query({ query: "SELECT id FROM events WHERE name = 'max'", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ id: '18446744073709551615' }]);

    const intruder = createClient({ url: server.url, username: 'app', password: 'wrong' });
    try {
      const denied = await clickHouseError(intruder.query({ query: 'SELECT 1' }));
      expect(denied.code).toBe('516');
      expect(denied.type).toBe('AUTHENTICATION_FAILED');
      expect(await intruder.ping()).toEqual({ success: true }); // like ClickHouse, /ping needs no credentials
    } finally {
      await intruder.close();
    }

    const big = Array.from({ length: 2000 }, (_, i) => ({
      id: 50_000 + i,
      name: 'x'.repeat(64),
      tags: [],
      ts: '2024-05-01 00:00:00.000',
    }));
    const tooLarge = await clickHouseError(client.insert({ table: 'events', format: 'JSONEachRow', values: big }));
    expect(tooLarge.code).toBe('229');
    expect(await count(client, 'events')).toBe(before);
  });
});
