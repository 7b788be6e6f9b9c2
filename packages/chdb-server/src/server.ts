import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { authenticate, type Accounts, type Role } from './auth';
import { compress, readBody } from './body';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_SESSIONS, type ChdbAccount } from './config';
import { ChdbEngine, type EngineJob, type EngineResult } from './engine';
import { engineInspector } from './engine-inspector';
import { ClickHouseHttpError, ErrorCode, exceptionBody, fromEngineError, httpStatusFor } from './errors';
import { parseQueryRequest, type QueryRequest } from './http-protocol';
import { createLogger, type Logger } from './logger';
import { checkReaderStatement, readerGrantsQuery, readerSettings } from './reader';
import { allowedHostHeaders, checkHost, refuseBrowserBodies, refuseBrowsers } from './request-guard';
import { StatementGuard } from './statement-guard';

export interface ChdbServerOptions {
  dataDir: string;
  /** Default 127.0.0.1: the server is meant for processes on the same machine. */
  host?: string;
  /** Default 8123; 0 picks a free port. */
  port?: number;
  /** The account services write with; every query must authenticate as it or as `reader`. */
  writer: ChdbAccount;
  /** A read-only account: readonly=2 that the request cannot lift, and read statements only. */
  reader?: ChdbAccount;
  /** Host header names accepted besides the listen host and 127.0.0.1, localhost, [::1] (DNS rebinding). */
  allowedHosts?: string[];
  /** Largest request body accepted, after decompression. Default 256 MiB. */
  maxBodyBytes?: number;
  /** Statements run at once, each on a chdb session of its own. Default 2. */
  sessions?: number;
  /** How long close() lets open connections finish before cutting them. Default 10 s. */
  shutdownGraceMs?: number;
  logger?: Logger;
}

export interface ChdbServer {
  /** e.g. http://127.0.0.1:8123 — what @clickhouse/client takes as `url`. */
  url: string;
  host: string;
  port: number;
  /** Stops accepting, finishes queued queries, releases the data directory. Idempotent. */
  close(): Promise<void>;
}

const DISPLAY_NAME = os.hostname();

export async function startChdbServer(options: ChdbServerOptions): Promise<ChdbServer> {
  const log = options.logger ?? createLogger();
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const accounts: Accounts = { writer: options.writer, ...(options.reader ? { reader: options.reader } : {}) };
  if (!options.writer.password || (options.reader && !options.reader.password)) {
    throw new Error('chdb-server needs a password for every account: it never runs without authentication');
  }

  const engine = await ChdbEngine.open(options.dataDir, {
    sessions: options.sessions ?? DEFAULT_SESSIONS,
    onSessionProblem: (err, message) => log.error({ err }, message),
  });
  let closing = false;

  const handler = new RequestHandler(
    engine,
    new StatementGuard(engineInspector(engine)),
    log,
    maxBodyBytes,
    accounts,
    () => closing,
  );
  const server = createServer((req, res) => void handler.handle(req, res));
  server.keepAliveTimeout = 10_000;
  server.requestTimeout = 10 * 60_000; // large inserts may take a while to upload

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8123, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await engine.close();
    throw err;
  }
  server.on('error', (err) => log.error({ err }, 'http server error'));

  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  handler.hosts = allowedHostHeaders(host, port, options.allowedHosts ?? []);
  log.info(
    {
      url,
      dataDir: options.dataDir,
      version: engine.info.version,
      sessions: options.sessions ?? DEFAULT_SESSIONS,
      writer: accounts.writer.user,
      reader: accounts.reader?.user,
      hosts: [...handler.hosts],
    },
    'chdb-server listening',
  );

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => {
        log.warn('connections still open after the grace period; closing them');
        server.closeAllConnections();
      }, options.shutdownGraceMs ?? 10_000);
      force.unref();
      await drained;
      clearTimeout(force);
      await engine.close();
      log.info('chdb-server stopped');
    })();
    return closed;
  };

  return { url, host, port, close };
}

class RequestHandler {
  /** Host header values answered to; set once the port is known. */
  hosts: ReadonlySet<string> = new Set();

  constructor(
    private readonly engine: ChdbEngine,
    private readonly guard: StatementGuard,
    private readonly log: Logger,
    private readonly maxBodyBytes: number,
    private readonly accounts: Accounts,
    private readonly isClosing: () => boolean,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    let queryId = url.searchParams.get('query_id') || undefined;
    try {
      checkHost(req.headers, this.hosts);
      refuseBrowsers(req.headers);
      if (url.pathname === '/ping' || (url.pathname === '/' && method !== 'POST' && !url.searchParams.has('query'))) {
        if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
        return this.send(res, 200, { 'Content-Type': 'text/html; charset=UTF-8' }, Buffer.from('Ok.\n'));
      }
      if (url.pathname !== '/') {
        throw ClickHouseHttpError.of(
          ErrorCode.BAD_ARGUMENTS,
          `There is no handle ${url.pathname}. Use / or /ping`,
          404,
        );
      }
      if (method !== 'GET' && method !== 'POST' && method !== 'HEAD') throw methodNotAllowed(method);
      const role = authenticate(req.headers, url.searchParams, this.accounts);
      if (method === 'POST') refuseBrowserBodies(req.headers);

      const body = method === 'POST' ? await readBody(req, this.maxBodyBytes) : Buffer.alloc(0);
      // HEAD gets GET's treatment (read-only); Node leaves the body out of the response.
      const asMethod = method === 'HEAD' ? 'GET' : method;
      const request = parseQueryRequest({ method: asMethod, search: url.searchParams, headers: req.headers, body });
      queryId = request.queryId;
      const result = await this.engine.run(await this.jobFor(role, request));
      await this.sendResult(res, request, result);
      this.log.debug(
        {
          queryId,
          role,
          keyword: request.shape.keyword,
          ms: Math.round(performance.now() - started),
          rows: result.resultRows,
          written: result.writtenRows,
        },
        'query done',
      );
    } catch (err) {
      this.fail(req, res, err, queryId, started);
    }
  }

  /** What the engine runs for the request, once the statement passed the guard (and the reader's limits). */
  private async jobFor(role: Role, request: QueryRequest): Promise<EngineJob> {
    const settings = role === 'reader' ? readerSettings(request.settings) : request.settings;
    const facts = await this.guard.check(request.statement.sql, request.params);
    const job: EngineJob = {
      statement: request.statement,
      params: request.params,
      settings,
      ...(request.database !== undefined ? { database: request.database } : {}),
      format: request.format,
      sticky: request.sticky,
    };
    if (role !== 'reader') return job;
    const { user } = this.accounts.reader!;
    checkReaderStatement(facts.type, user);
    if (facts.type !== 'ShowGrantsQuery') return job;
    const grants = readerGrantsQuery(user);
    return {
      ...job,
      statement: { kind: 'sql', sql: grants.sql },
      params: grants.params,
      format: request.responseFormat,
    };
  }

  private async sendResult(res: ServerResponse, request: QueryRequest, result: EngineResult): Promise<void> {
    const isInsert = request.shape.keyword === 'INSERT';
    const summary = {
      // The engine reports only what the statement returned, not what it scanned.
      read_rows: String(result.resultRows),
      read_bytes: String(result.resultBytes),
      written_rows: String(result.writtenRows),
      written_bytes: String(result.writtenBytes),
      total_rows_to_read: '0',
      result_rows: String(isInsert ? result.writtenRows : result.resultRows),
      result_bytes: String(isInsert ? result.writtenBytes : result.resultBytes),
      elapsed_ns: String(result.elapsedNs),
    };
    const headers: OutgoingHttpHeaders = {
      'Content-Type': contentTypeFor(request.responseFormat),
      'X-ClickHouse-Query-Id': request.queryId,
      'X-ClickHouse-Format': request.responseFormat,
      'X-ClickHouse-Timezone': request.sessionTimezone ?? this.engine.info.timezone,
      'X-ClickHouse-Summary': JSON.stringify(summary),
    };
    let payload: Uint8Array = result.bytes;
    if (request.responseEncoding) {
      payload = await compress(payload, request.responseEncoding, request.compressionLevel);
      headers['Content-Encoding'] = request.responseEncoding;
    }
    this.send(res, 200, headers, payload);
  }

  private fail(
    req: IncomingMessage,
    res: ServerResponse,
    err: unknown,
    queryId: string | undefined,
    started: number,
  ): void {
    if (req.destroyed && !(err instanceof ClickHouseHttpError)) {
      this.log.debug({ err, queryId }, 'client went away');
      return;
    }
    const error = err instanceof ClickHouseHttpError ? err : fromEngineError(err);
    const status = httpStatusFor(error);
    this.log[status >= 500 && !(err instanceof ClickHouseHttpError) ? 'error' : 'warn'](
      {
        queryId,
        code: error.code,
        type: error.type,
        status,
        ms: Math.round(performance.now() - started),
        error: error.message.slice(0, 2000),
      },
      'query failed',
    );
    const headers: OutgoingHttpHeaders = {
      'Content-Type': 'text/plain; charset=UTF-8',
      'X-ClickHouse-Exception-Code': String(error.code),
      ...(queryId ? { 'X-ClickHouse-Query-Id': queryId } : {}),
      'X-ClickHouse-Timezone': this.engine.info.timezone,
    };
    // An unread (e.g. oversized) body must not be mistaken for the next request on this connection.
    if (!req.complete) headers.Connection = 'close';
    this.send(res, status, headers, Buffer.from(exceptionBody(error, this.engine.info.version)));
  }

  private send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: Uint8Array): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      ...headers,
      'X-ClickHouse-Server-Display-Name': DISPLAY_NAME,
      'Content-Length': body.byteLength,
      ...(this.isClosing() ? { Connection: 'close' } : {}),
    });
    res.end(body);
  }
}

function methodNotAllowed(method: string): ClickHouseHttpError {
  return ClickHouseHttpError.of(ErrorCode.UNSUPPORTED_METHOD, `HTTP method ${method} is not supported`, 405);
}

function contentTypeFor(format: string): string {
  const f = format.toLowerCase();
  if (/^(json|jsoncompact|jsonstrings|jsoncompactstrings|jsoncolumns\w*|jsonobjecteachrow)$/.test(f))
    return 'application/json; charset=UTF-8';
  if (f.startsWith('json') || f === 'ndjson' || f === 'jsonl') return 'application/x-ndjson; charset=UTF-8';
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  if (f.startsWith('csv')) return 'text/csv; charset=UTF-8';
  if (/^(rowbinary\w*|native|parquet|arrow\w*|orc|avro|protobuf\w*|capnproto|msgpack|bsoneachrow|npy)$/.test(f))
    return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}
