import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, startChdbServer, type ChdbServer } from '../packages/chdb-server/src/index';

/**
 * The ClickHouse stand-in as an attacker on the same machine meets it: a local process
 * without the password, a web page in a browser, and a holder of either account trying
 * to read or write the host's files through chDB (clickhouse-local, where file() has no
 * path check and INTO OUTFILE writes). Everything runs against a real server.
 */

const scratch = mkdtempSync(path.join(os.tmpdir(), 'chdb-security-'));
const dataDir = path.join(scratch, 'data');
const writer = { user: 'lt_writer', password: randomBytes(12).toString('hex') };
const reader = { user: 'lt_reader', password: randomBytes(12).toString('hex') };
// A file only this run knows the content of, so an answer that leaked it would show.
const secret = `secret-${randomBytes(8).toString('hex')}`;
const secretFile = path.join(scratch, 'secret.txt');
writeFileSync(secretFile, `${secret}\n`);

let server: ChdbServer;
let asWriter: ClickHouseClient;
let asReader: ClickHouseClient;

const client = (account: { user: string; password: string }, extra: Parameters<typeof createClient>[0] = {}) =>
  createClient({
    url: server.url,
    username: account.user,
    password: account.password,
    log: { level: ClickHouseLogLevel.OFF },
    ...extra,
  });

async function refusal(promise: Promise<unknown>): Promise<ClickHouseError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ClickHouseError) return err;
    throw err;
  }
  throw new Error('expected the server to refuse');
}

/** A raw HTTP exchange, for what @clickhouse/client never sends (other hosts, browser headers, form bodies). */
function raw(options: {
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: options.path ?? '/',
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const basic = (account: { user: string; password: string }) =>
  `Basic ${Buffer.from(`${account.user}:${account.password}`).toString('base64')}`;

async function tableExists(name: string): Promise<boolean> {
  const rs = await asWriter.query({
    query: 'EXISTS TABLE {name:Identifier}',
    query_params: { name },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<Record<string, number>>();
  return Number(Object.values(row ?? {})[0]) === 1;
}

beforeAll(async () => {
  server = await startChdbServer({ dataDir, port: 0, logger: createLogger('silent'), writer, reader });
  asWriter = client(writer);
  asReader = client(reader);
  await asWriter.command({ query: 'CREATE TABLE notes (s String) ENGINE = MergeTree ORDER BY s' });
});

afterAll(async () => {
  await asWriter?.close();
  await asReader?.close();
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('who may talk to the stand-in', () => {
  it('refuses requests without credentials and with a wrong password', async () => {
    const anonymous = await raw({ body: 'SELECT 1' });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toMatch(/^Code: 516\. .*Authentication is required/);

    const wrong = client({ user: writer.user, password: 'guess' });
    try {
      const denied = await refusal(wrong.query({ query: 'SELECT 1' }));
      expect(denied.type).toBe('AUTHENTICATION_FAILED');
    } finally {
      await wrong.close();
    }
  });

  it('refuses credentials in URL parameters, which a link or form could carry', async () => {
    const viaUrl = await raw({
      path: `/?user=${writer.user}&password=${writer.password}&query=${encodeURIComponent("SELECT 'ran'")}`,
      method: 'GET',
    });
    expect(viaUrl.status).toBe(403);
    expect(viaUrl.body).toMatch(/URL parameters/);
    expect(viaUrl.body).not.toContain('ran\n');
  });

  it('refuses text/plain, urlencoded and multipart bodies a web page can send, before running them', async () => {
    const bodies: Array<[string, string]> = [
      ['text/plain;charset=UTF-8', 'CREATE TABLE from_text_plain (a UInt8) ENGINE = Memory'],
      ['application/x-www-form-urlencoded', 'query=CREATE+TABLE+from_form+(a+UInt8)+ENGINE+%3D+Memory'],
      [
        'multipart/form-data; boundary=b',
        '--b\r\nContent-Disposition: form-data; name="query"\r\n\r\nCREATE TABLE from_multipart (a UInt8) ENGINE = Memory\r\n--b--\r\n',
      ],
    ];
    for (const [type, body] of bodies) {
      const answer = await raw({ headers: { 'content-type': type, authorization: basic(writer) }, body });
      expect(answer.status, type).toBe(415);
      expect(answer.body, type).toMatch(/UNSUPPORTED_MEDIA_TYPE/);
    }
    for (const table of ['from_text_plain', 'from_form', 'from_multipart'])
      expect(await tableExists(table), table).toBe(false);
  });

  it('refuses a foreign Host (DNS rebinding) and browser requests, even with the right password', async () => {
    const port = new URL(server.url).port;
    const rebinding = await raw({
      method: 'GET',
      path: `/?query=${encodeURIComponent("SELECT 'ran'")}`,
      headers: { host: `evil.example:${port}`, authorization: basic(writer) },
    });
    expect(rebinding.status).toBe(403);
    expect(rebinding.body).toMatch(/Host "evil\.example:\d+" is not one this server answers to/);

    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }] as Array<
      Record<string, string>
    >) {
      const browser = await raw({ headers: { ...headers, authorization: basic(writer) }, body: "SELECT 'ran'" });
      expect(browser.status).toBe(403);
      expect(browser.body).toMatch(/web browsers are not accepted/);
    }
    expect((await raw({ method: 'GET', path: '/ping', headers: { host: `localhost:${port}` } })).body).toBe('Ok.\n');
  });

  it('still serves @clickhouse/client: JSONEachRow inserts and parameterised queries as either account', async () => {
    const inserted = await asWriter.insert({
      table: 'notes',
      format: 'JSONEachRow',
      values: [{ s: 'hello' }, { s: "it's" }],
    });
    expect(inserted.summary?.written_rows).toBe('2');
    for (const c of [asWriter, asReader]) {
      const rs = await c.query({
        query: 'SELECT count() AS n FROM notes WHERE s IN {list:Array(String)}',
        query_params: { list: ['hello', "it's"] },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ n: '2' }]);
    }
  });
});

describe("no account reaches the host's files", () => {
  const reads = (file: string) => [
    `SELECT file('${file}')`,
    `SELECT \`file\`('${file}')`,
    `SELECT "file"('${file}')`,
    `SELECT * FROM file('${file}', 'LineAsString')`,
    `SELECT FiLe('${file}')`,
    `SELECT * FROM (SELECT 1) WHERE (SELECT file('${file}')) != ''`,
    `WITH (SELECT file('${file}')) AS f SELECT f`,
  ];

  it('refuses file() however it is quoted or cased, for both accounts, with no file content in the answer', async () => {
    for (const [name, c] of [
      ['writer', asWriter],
      ['reader', asReader],
    ] as const) {
      for (const query of [...reads(secretFile), ...reads('/etc/hostname').slice(0, 4)]) {
        const err = await refusal(c.query({ query, format: 'TabSeparated' }));
        expect(err.type, `${name}: ${query}`).toBe('ACCESS_DENIED');
        expect(err.message, `${name}: ${query}`).not.toContain(secret);
      }
    }
  });

  it('refuses INTO OUTFILE, also behind a dollar-quoted string whose tag holds a digit, and writes nothing', async () => {
    for (const [name, c] of [
      ['writer', asWriter],
      ['reader', asReader],
    ] as const) {
      const out = path.join(scratch, `out-${name}.txt`);
      const err = await refusal(c.query({ query: `SELECT $a1$ x $a1$ INTO OUTFILE '${out}'`, format: 'TabSeparated' }));
      expect(err.message, name).toMatch(/INTO OUTFILE is not accepted/);
      expect(existsSync(out), name).toBe(false);
    }
    const explained = path.join(scratch, 'explain.txt');
    expect(
      (await refusal(asWriter.command({ query: `EXPLAIN SYNTAX SELECT 1 INTO OUTFILE '${explained}'` }))).type,
    ).toBe('ACCESS_DENIED');
    expect(existsSync(explained)).toBe(false);
  });

  it('refuses FROM INFILE', async () => {
    const err = await refusal(
      asWriter.command({ query: `INSERT INTO notes FROM INFILE '${secretFile}' FORMAT LineAsString` }),
    );
    expect(err.message).toMatch(/FROM INFILE is not accepted/);
    const rs = await asWriter.query({
      query: 'SELECT count() AS n FROM notes WHERE s = {s:String}',
      query_params: { s: secret },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: '0' }]);
  });

  it('refuses VALUES insert data, where chDB would run what follows a ";" as another statement', async () => {
    const smuggled = path.join(scratch, 'values.txt');
    const err = await refusal(
      asWriter
        .exec({
          query: 'INSERT INTO notes FORMAT Values',
          values: Readable.from([`('v'); SELECT 1 INTO OUTFILE '${smuggled}'`]),
        })
        .then((r) => r.stream.resume()),
    );
    expect(err.message).toMatch(/VALUES/);
    expect(existsSync(smuggled)).toBe(false);
  });

  it('refuses table functions, engines and dictionary sources that reach outside, and settings that name files', async () => {
    const attempts = [
      "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
      "SELECT * FROM remote('127.0.0.1', system.one)",
      "SELECT * FROM executable('x.sh', 'TSV', 'a String')",
      `CREATE TABLE via_engine (s String) ENGINE = File(LineAsString, '${secretFile}')`,
      `CREATE DICTIONARY via_command (k UInt64, v String) PRIMARY KEY k SOURCE(EXECUTABLE(command 'cat ${secretFile}' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)`,
    ];
    for (const query of attempts) {
      const err = await refusal(asWriter.command({ query }));
      expect(err.type, query).toBe('ACCESS_DENIED');
    }
    const template = await refusal(
      asWriter.command({ query: `SELECT 1 FORMAT Template SETTINGS format_template_resultset = '${secretFile}'` }),
    );
    expect(template.code).toBe('452'); // SETTING_CONSTRAINT_VIOLATION
    expect(template.message).toMatch(/format_template_resultset should not be changed/);
    expect(template.message).not.toContain(secret);
  });

  it('answers EXPLAIN AST of a hostile statement (it only parses), so callers can vet queries, and writes nothing', async () => {
    const out = path.join(scratch, 'explain-ast.txt');
    const rs = await asReader.exec({ query: `EXPLAIN AST SELECT file('${secretFile}') INTO OUTFILE '${out}'` });
    const dump = await new Response(Readable.toWeb(rs.stream) as ReadableStream).text();
    expect(dump).toMatch(/Function file/);
    expect(dump).not.toContain(secret);
    expect(existsSync(out)).toBe(false);
  });
});

describe('the read-only account', () => {
  it('reads, with readonly=2 and only SELECT and SHOW granted', async () => {
    const rs = await asReader.query({ query: "SELECT getSetting('readonly') AS ro", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ ro: 2 }]);
    const grants = await asReader.query({ query: 'SHOW GRANTS FINAL', format: 'JSONEachRow' });
    expect((await grants.json<Record<string, string>>()).map((row) => Object.values(row)[0])).toEqual([
      `GRANT SHOW, SELECT ON *.* TO ${reader.user}`,
    ]);
  });

  it('cannot insert, create, drop or change data, nor lift readonly', async () => {
    const before = await (
      await asWriter.query({ query: 'SELECT count() AS n FROM notes', format: 'JSONEachRow' })
    ).json();
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['insert', () => asReader.insert({ table: 'notes', format: 'JSONEachRow', values: [{ s: 'by reader' }] })],
      ['create', () => asReader.command({ query: 'CREATE TABLE by_reader (a UInt8) ENGINE = Memory' })],
      ['drop', () => asReader.command({ query: 'DROP TABLE notes' })],
      ['truncate', () => asReader.command({ query: 'TRUNCATE TABLE notes' })],
      ['set readonly', () => asReader.command({ query: 'SET readonly = 0' })],
      [
        'readonly=0 setting',
        () =>
          asReader.insert({
            table: 'notes',
            format: 'JSONEachRow',
            values: [{ s: 'by reader' }],
            clickhouse_settings: { readonly: '0' },
          }),
      ],
    ];
    for (const [what, attempt] of attempts) {
      const err = await refusal(attempt());
      expect(err.type, what).toBe('READONLY');
    }
    expect(
      await (await asWriter.query({ query: 'SELECT count() AS n FROM notes', format: 'JSONEachRow' })).json(),
    ).toEqual(before);
    expect(await tableExists('by_reader')).toBe(false);
  });
});

describe('the engine under the stand-in', () => {
  it('keeps user files in an empty folder of the data directory', async () => {
    const rs = await asWriter.query({
      query: "SELECT value FROM system.server_settings WHERE name = 'user_files_path'",
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ value: string }>();
    expect(path.resolve(row!.value)).toBe(path.join(dataDir, 'user_files'));
    expect(readFileSync(path.join(dataDir, 'chdb-server', 'users.xml'), 'utf8')).not.toMatch(/GRANT ALL/);
  });
});
