import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ClickHouseHttpError, ErrorCode } from './errors';
import { isBlankFrom, scanSql, type SqlShape } from './sql-scan';

/** What the engine is asked to do for one request. */
export type EngineStatement =
  /** Full SQL text, possibly with inline INSERT data. */
  | { kind: 'sql'; sql: string }
  /** `INSERT ... FORMAT <fmt>` plus its data as raw bytes, never decoded to text. */
  | { kind: 'insert'; sql: string; data: Buffer }
  /** An INSERT without data: ClickHouse answers it with success and writes nothing. */
  | { kind: 'noop'; sql: string };

export type ResponseEncoding = 'gzip' | 'deflate' | 'br';

export interface QueryRequest {
  queryId: string;
  statement: EngineStatement;
  shape: SqlShape;
  /**
   * The statement leaves state on the connection that ClickHouse would drop
   * with the request (no HTTP sessions here): SET, USE, temporary tables.
   */
  sticky: boolean;
  /** `param_<name>` values, still in ClickHouse's escaped text form. */
  params: Record<string, string>;
  /** Per-request settings for the engine, `readonly` always last. */
  settings: Array<[name: string, value: string]>;
  database?: string;
  /** Output format for statements without a FORMAT clause. */
  format: string;
  /** The format the response is actually in (X-ClickHouse-Format). */
  responseFormat: string;
  responseEncoding?: ResponseEncoding;
  compressionLevel: number;
  sessionTimezone?: string;
}

export interface RawRequest {
  method: string;
  search: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Already decompressed. Ignored for GET, as ClickHouse does. */
  body: Buffer;
}

// URL parameters ClickHouse's HTTP handler consumes itself; everything else is a setting.
const RESERVED = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'user',
  'password',
  'quota_key',
  'stacktrace',
  'role',
  'buffer_size',
  'wait_end_of_query',
  'session_id',
  'session_timeout',
  'session_check',
  'close_session',
  'client_protocol_version',
  'compress',
  'decompress',
]);

// Real settings that only steer the HTTP exchange; this server handles them
// (or has nothing to do for them), so they never reach the engine.
const HTTP_ONLY_SETTINGS = new Set([
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_response_compression_method',
  'http_native_compression_disable_checksumming_on_decompress',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_wait_end_of_query',
  'http_response_buffer_size',
  'http_write_exception_in_output_format',
  'http_response_headers',
  'add_http_cors_header',
  'cancel_http_readonly_queries_on_client_close',
  'http_max_uri_size',
  'http_max_fields',
  'http_max_field_name_size',
  'http_max_field_value_size',
  'http_max_request_param_data_size',
]);

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FORMAT_NAME = /^[A-Za-z0-9_]+$/;
const DEFAULT_FORMAT = 'TabSeparated';

export function parseQueryRequest(req: RawRequest): QueryRequest {
  const isGet = req.method === 'GET';
  // Form bodies (multipart/form-data included) are refused before this point (request-guard.ts).
  const fields = firstOccurrences(req.search);
  const body = isGet ? Buffer.alloc(0) : req.body;

  if (truthy(fields.get('compress')) || truthy(fields.get('decompress'))) {
    throw ClickHouseHttpError.of(
      ErrorCode.NOT_IMPLEMENTED,
      'ClickHouse native compression (compress/decompress) is not supported',
    );
  }

  const params: Record<string, string> = {};
  const settings: Array<[string, string]> = [];
  let readonly: string | undefined;
  for (const [name, value] of fields) {
    if (name.startsWith('param_')) {
      params[name.slice('param_'.length)] = value;
    } else if (RESERVED.has(name) || HTTP_ONLY_SETTINGS.has(name)) {
      continue;
    } else if (!SETTING_NAME.test(name)) {
      throw ClickHouseHttpError.of(ErrorCode.UNKNOWN_SETTING, `Unknown setting '${name}'`);
    } else if (name === 'readonly') {
      readonly = value;
    } else {
      settings.push([name, value]);
    }
  }
  // ClickHouse lets GET run only reading queries; a request's own readonly=1 is stricter and wins.
  if (isGet && (readonly === undefined || readonly === '0')) readonly = '2';
  // readonly goes last: once it is on, the engine refuses to change other settings.
  if (readonly !== undefined) settings.push(['readonly', readonly]);

  const format = fields.get('default_format') || DEFAULT_FORMAT;
  if (!FORMAT_NAME.test(format)) throw new ClickHouseHttpError(73, 'UNKNOWN_FORMAT', `Unknown format ${format}`);

  const { statement, shape } = buildStatement(fields.get('query') ?? '', body, Object.keys(params).length > 0);
  const encoding = truthy(fields.get('enable_http_compression'))
    ? chooseEncoding(String(req.headers['accept-encoding'] ?? ''))
    : undefined;
  const database = fields.get('database');
  const timezone = settings.find(([name]) => name === 'session_timezone')?.[1];

  return {
    queryId: fields.get('query_id') || randomUUID(),
    statement,
    shape,
    sticky: isSticky(statement, shape),
    params,
    settings,
    ...(database ? { database } : {}),
    format,
    responseFormat: shape.outputFormat ?? format,
    ...(encoding ? { responseEncoding: encoding } : {}),
    compressionLevel: compressionLevel(fields.get('http_zlib_compression_level')),
    ...(timezone ? { sessionTimezone: timezone } : {}),
  };
}

/**
 * ClickHouse reads the statement as the `query` parameter, a newline, then
 * the body. When the parameter is a complete `INSERT ... FORMAT <fmt>` the
 * body is pure data, which is kept as bytes so binary formats survive.
 */
function buildStatement(
  urlQuery: string,
  body: Buffer,
  hasParams: boolean,
): { statement: EngineStatement; shape: SqlShape } {
  if (urlQuery && body.length > 0) {
    const shape = scanSql(urlQuery);
    if (shape.insertFormat !== undefined && isBlankFrom(urlQuery, shape.dataOffset ?? urlQuery.length)) {
      if (isBlankBuffer(body)) return { statement: { kind: 'noop', sql: urlQuery }, shape };
      // The raw insert entry point takes no query parameters; those rare inserts go the text route.
      if (!hasParams) return { statement: { kind: 'insert', sql: urlQuery, data: body }, shape };
    }
  }
  const sql = urlQuery && body.length > 0 ? `${urlQuery}\n${body.toString('utf8')}` : urlQuery || body.toString('utf8');
  if (isBlankFrom(sql, 0)) throw ClickHouseHttpError.of(ErrorCode.SYNTAX_ERROR, 'Empty query');
  const shape = scanSql(sql);
  if (shape.multiStatement) throw ClickHouseHttpError.of(ErrorCode.SYNTAX_ERROR, 'Multi-statements are not allowed');
  if (shape.insertFormat !== undefined && isBlankFrom(sql, shape.dataOffset ?? sql.length)) {
    return { statement: { kind: 'noop', sql }, shape };
  }
  return { statement: { kind: 'sql', sql }, shape };
}

function isSticky(statement: EngineStatement, shape: SqlShape): boolean {
  if (shape.keyword === 'SET' || shape.keyword === 'USE') return true;
  return shape.keyword === 'CREATE' && statement.kind === 'sql' && /\bTEMPORARY\b/i.test(statement.sql.slice(0, 200));
}

/** URL parameters; the first occurrence of a name wins, as in ClickHouse. */
function firstOccurrences(search: URLSearchParams): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [name, value] of search) if (!fields.has(name)) fields.set(name, value);
  return fields;
}

export function chooseEncoding(acceptEncoding: string): ResponseEncoding | undefined {
  const offered = acceptEncoding
    .toLowerCase()
    .split(',')
    .map((part) => part.split(';')[0]!.trim());
  for (const encoding of offered) {
    if (encoding === 'gzip' || encoding === 'x-gzip') return 'gzip';
    if (encoding === 'deflate') return 'deflate';
    if (encoding === 'br') return 'br';
  }
  return undefined;
}

function compressionLevel(value: string | undefined): number {
  const level = Number(value);
  if (value === undefined || !Number.isInteger(level)) return 3; // ClickHouse's default
  return Math.min(9, Math.max(1, level));
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true)$/i.test(value.trim());
}

function isBlankBuffer(buf: Buffer): boolean {
  for (const byte of buf) if (byte !== 32 && (byte < 9 || byte > 13)) return false;
  return true;
}
