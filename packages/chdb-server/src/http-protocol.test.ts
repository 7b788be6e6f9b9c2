import { describe, expect, it } from 'vitest';
import { ClickHouseHttpError } from './errors';
import { chooseEncoding, parseQueryRequest, type RawRequest } from './http-protocol';

function request(query: string, body = '', extra: Partial<RawRequest> = {}): RawRequest {
  return { method: 'POST', search: new URLSearchParams(query), headers: {}, body: Buffer.from(body), ...extra };
}

function errorOf(fn: () => unknown): ClickHouseHttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClickHouseHttpError) return err;
    throw err;
  }
  throw new Error('expected a ClickHouseHttpError');
}

describe('parseQueryRequest', () => {
  it('takes the SQL from the body, params and settings from the URL', () => {
    const r = parseQueryRequest(
      request(
        'query_id=q1&default_format=JSON&database=analytics&param_s=a%5Ctb&max_result_rows=10&enable_http_compression=1&send_progress_in_http_headers=1&wait_end_of_query=1',
        'SELECT {s:String} \nFORMAT JSONEachRow',
      ),
    );
    expect(r.queryId).toBe('q1');
    expect(r.statement).toEqual({ kind: 'sql', sql: 'SELECT {s:String} \nFORMAT JSONEachRow' });
    expect(r.params).toEqual({ s: 'a\\tb' });
    expect(r.settings).toEqual([['max_result_rows', '10']]);
    expect(r.database).toBe('analytics');
    expect(r.format).toBe('JSON');
    expect(r.responseFormat).toBe('JSONEachRow');
  });

  it('keeps insert data as raw bytes when the URL holds the INSERT', () => {
    const data = '{"a":1}\n{"a":2}\n';
    const r = parseQueryRequest(request('query=INSERT INTO t (a) FORMAT JSONEachRow', data));
    expect(r.statement.kind).toBe('insert');
    if (r.statement.kind !== 'insert') return;
    expect(r.statement.sql).toBe('INSERT INTO t (a) FORMAT JSONEachRow');
    expect(r.statement.data.toString()).toBe(data);
    expect(r.shape.keyword).toBe('INSERT');
  });

  it('treats an INSERT without data as a no-op', () => {
    expect(parseQueryRequest(request('query=INSERT INTO t FORMAT JSONEachRow', ' \n')).statement).toEqual({
      kind: 'noop',
      sql: 'INSERT INTO t FORMAT JSONEachRow',
    });
    expect(parseQueryRequest(request('', 'INSERT INTO t FORMAT JSONEachRow\n')).statement).toEqual({
      kind: 'noop',
      sql: 'INSERT INTO t FORMAT JSONEachRow\n',
    });
  });

  it('joins URL query and body with a newline otherwise', () => {
    const r = parseQueryRequest(request('query=SELECT', '1'));
    expect(r.statement).toEqual({ kind: 'sql', sql: 'SELECT\n1' });
    const withParams = parseQueryRequest(request('query=INSERT INTO t FORMAT JSONEachRow&param_x=1', '{"a":1}'));
    expect(withParams.statement).toEqual({ kind: 'sql', sql: 'INSERT INTO t FORMAT JSONEachRow\n{"a":1}' });
  });

  it('puts readonly last and makes GET read-only', () => {
    const post = parseQueryRequest(request('readonly=1&max_threads=2', 'SELECT 1'));
    expect(post.settings).toEqual([
      ['max_threads', '2'],
      ['readonly', '1'],
    ]);
    const get = parseQueryRequest(request('query=SELECT 1', '', { method: 'GET' }));
    expect(get.settings).toEqual([['readonly', '2']]);
    const strictGet = parseQueryRequest(request('query=SELECT 1&readonly=1', '', { method: 'GET' }));
    expect(strictGet.settings).toEqual([['readonly', '1']]);
  });

  it('flags statements whose effects would outlive the request', () => {
    expect(parseQueryRequest(request('', 'SET max_threads = 1')).sticky).toBe(true);
    expect(parseQueryRequest(request('', 'use other')).sticky).toBe(true);
    expect(parseQueryRequest(request('', 'CREATE TEMPORARY TABLE tmp (a UInt8)')).sticky).toBe(true);
    expect(parseQueryRequest(request('', 'SELECT 1')).sticky).toBe(false);
    expect(parseQueryRequest(request('', 'CREATE TABLE t (a UInt8) ENGINE = Memory')).sticky).toBe(false);
  });

  it('ignores a GET body, as ClickHouse does', () => {
    const r = parseQueryRequest(request('query=SELECT 1', 'DROP TABLE t', { method: 'GET' }));
    expect(r.statement).toEqual({ kind: 'sql', sql: 'SELECT 1' });
  });

  it('rejects empty queries, multi-statements and malformed setting names', () => {
    expect(errorOf(() => parseQueryRequest(request('', '  '))).code).toBe(62);
    expect(errorOf(() => parseQueryRequest(request('', 'SELECT 1; DROP TABLE t'))).code).toBe(62);
    expect(errorOf(() => parseQueryRequest(request("max_threads'=1", 'SELECT 1'))).code).toBe(115);
    expect(errorOf(() => parseQueryRequest(request('default_format=JSON;', 'SELECT 1'))).code).toBe(73);
  });

  it('compresses the response only when asked by both setting and Accept-Encoding', () => {
    const headers = { 'accept-encoding': 'gzip' };
    expect(parseQueryRequest(request('enable_http_compression=1', 'SELECT 1', { headers })).responseEncoding).toBe(
      'gzip',
    );
    expect(parseQueryRequest(request('', 'SELECT 1', { headers })).responseEncoding).toBeUndefined();
    expect(parseQueryRequest(request('enable_http_compression=1', 'SELECT 1')).responseEncoding).toBeUndefined();
    expect(chooseEncoding('zstd, br;q=0.5')).toBe('br');
    expect(chooseEncoding('identity')).toBeUndefined();
  });
});
