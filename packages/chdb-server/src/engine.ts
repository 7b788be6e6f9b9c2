import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Session } from 'chdb';
import { fromEngineError } from './errors';
import type { EngineStatement } from './http-protocol';
import { SerialQueue } from './serial-queue';

interface RawResult {
  bytes: Uint8Array;
  elapsed: number;
  rowsRead: number;
  bytesRead: number;
}

interface RawInsertResult {
  elapsed: number;
  rowsWritten: number;
  bytesWritten: number;
}

/**
 * The addon behind chdb's Session. Called directly because it takes query
 * parameters as ClickHouse's own escaped text — exactly what arrives in
 * `param_<name>` over HTTP — whereas Session.queryBindAsync escapes JS values
 * a second time.
 */
interface NativeAddon {
  QueryAsyncConnection(conn: unknown, sql: string, format: string, params?: Record<string, string>): Promise<RawResult>;
  InsertRawAsyncConnection(conn: unknown, prefix: string, data: Buffer, countLines: boolean): Promise<RawInsertResult>;
}

const require = createRequire(import.meta.url);
const native = require(path.join(path.dirname(require.resolve('chdb')), 'dist/loader.js')).loadNative() as NativeAddon;

export interface EngineJob {
  statement: EngineStatement;
  params: Record<string, string>;
  settings: Array<[name: string, value: string]>;
  database?: string;
  format: string;
  /** The statement changes state that outlives it on a connection (SET, USE, temporary tables). */
  sticky: boolean;
}

export interface EngineResult {
  bytes: Uint8Array;
  resultRows: number;
  resultBytes: number;
  writtenRows: number;
  writtenBytes: number;
  elapsedNs: number;
}

const EMPTY: Omit<EngineResult, 'elapsedNs'> = {
  bytes: new Uint8Array(0),
  resultRows: 0,
  resultBytes: 0,
  writtenRows: 0,
  writtenBytes: 0,
};

export interface EngineInfo {
  version: string;
  timezone: string;
}

export interface EngineHooks {
  /** The session could not be put back into its clean state. */
  onSessionProblem?: (err: unknown, message: string) => void;
}

/**
 * One chdb session over the data directory, used by one job at a time.
 * Settings a request brings are SET on the shared session before its
 * statement and reset afterwards, so the next request starts clean. When
 * that cannot be guaranteed the session is swapped for a fresh one: chdb
 * connections to the same directory share data but not settings.
 */
export class ChdbEngine {
  private readonly queue = new SerialQueue();
  private closed = false;

  private constructor(
    private session: Session,
    private readonly dataDir: string,
    /** Settings a fresh session starts with (name → value); a reset returns to these. */
    private readonly baseline: Map<string, string>,
    readonly info: EngineInfo,
    private readonly hooks: EngineHooks,
  ) {}

  static async open(dataDir: string, hooks: EngineHooks = {}): Promise<ChdbEngine> {
    mkdirSync(dataDir, { recursive: true });
    const session = openSession(dataDir);
    try {
      const changed = await native.QueryAsyncConnection(
        session.connection,
        'SELECT name, value FROM system.settings WHERE changed',
        'JSONEachRow',
      );
      const baseline = new Map<string, string>();
      for (const row of jsonLines<{ name: string; value: string }>(changed.bytes)) baseline.set(row.name, row.value);
      const about = await native.QueryAsyncConnection(
        session.connection,
        'SELECT version() AS v, timezone() AS tz',
        'JSONEachRow',
      );
      const [first] = jsonLines<{ v: string; tz: string }>(about.bytes);
      const info = { version: first?.v ?? 'unknown', timezone: first?.tz ?? 'UTC' };
      return new ChdbEngine(session, dataDir, baseline, info, hooks);
    } catch (err) {
      session.close();
      throw err;
    }
  }

  /** Jobs waiting or running. */
  get pending(): number {
    return this.queue.size;
  }

  run(job: EngineJob): Promise<EngineResult> {
    if (this.closed) return Promise.reject(new Error('chdb engine is closed'));
    return this.queue.run(() => this.execute(job));
  }

  /** Lets queued jobs finish, then releases the data directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain();
    this.session.close();
  }

  private async execute(job: EngineJob): Promise<EngineResult> {
    const started = process.hrtime.bigint();
    const switchDb = job.database !== undefined && job.database !== 'default';
    // What it takes afterwards to hand the next job a clean session.
    let cleanUp: 'none' | 'reset' | 'recycle' = 'none';
    try {
      if (job.settings.length > 0) {
        cleanUp = 'recycle'; // until the SET is known to have landed
        await this.exec(`SET ${job.settings.map(([k, v]) => `${k} = ${quote(v)}`).join(', ')}`);
        cleanUp = 'reset';
      }
      if (switchDb) {
        if (cleanUp === 'none') cleanUp = 'reset';
        await this.exec(`USE ${quoteIdentifier(job.database!)}`);
      }
      // What a SET or USE statement touches is not known here.
      if (job.sticky) cleanUp = 'recycle';
      const result = await this.statement(job);
      return { ...result, elapsedNs: Number(process.hrtime.bigint() - started) };
    } catch (err) {
      throw fromEngineError(err);
    } finally {
      if (cleanUp === 'reset') await this.reset(job, switchDb);
      else if (cleanUp === 'recycle') this.recycle();
    }
  }

  private async statement(job: EngineJob): Promise<Omit<EngineResult, 'elapsedNs'>> {
    const { statement } = job;
    const conn = this.session.connection;
    if (statement.kind === 'noop') return EMPTY;
    if (statement.kind === 'insert') {
      const r = await native.InsertRawAsyncConnection(conn, statement.sql, statement.data, false);
      return { ...EMPTY, writtenRows: r.rowsWritten, writtenBytes: r.bytesWritten };
    }
    const r =
      Object.keys(job.params).length > 0
        ? await native.QueryAsyncConnection(conn, statement.sql, job.format, job.params)
        : await native.QueryAsyncConnection(conn, statement.sql, job.format);
    return { ...EMPTY, bytes: r.bytes, resultRows: r.rowsRead, resultBytes: r.bytesRead };
  }

  private async reset(job: EngineJob, switchedDb: boolean): Promise<void> {
    try {
      if (job.settings.length > 0) {
        // Reverse order puts readonly first: while it is on, nothing else could be reset.
        const names = job.settings.map(([name]) => name).reverse();
        await this.exec(`SET ${names.map((name) => this.resetClause(name)).join(', ')}`);
      }
      if (switchedDb) await this.exec('USE default');
    } catch (err) {
      this.hooks.onSessionProblem?.(err, 'could not reset the session after a query; replacing it');
      this.recycle();
    }
  }

  /** Swaps the session for a fresh one: same data, default settings and database. */
  private recycle(): void {
    let fresh: Session;
    try {
      fresh = openSession(this.dataDir);
    } catch (err) {
      this.hooks.onSessionProblem?.(err, 'could not open a fresh session; keeping the current one');
      return;
    }
    const old = this.session;
    this.session = fresh;
    old.close();
  }

  private resetClause(name: string): string {
    const base = this.baseline.get(name);
    return `${name} = ${base === undefined ? 'DEFAULT' : quote(base)}`;
  }

  private async exec(sql: string): Promise<void> {
    await native.QueryAsyncConnection(this.session.connection, sql, 'TabSeparated');
  }
}

function openSession(dataDir: string): Session {
  try {
    // Quoted 64-bit integers keep values beyond 2^53 exact in JSON output, which
    // @clickhouse/client relies on; chdb's own default leaves them unquoted.
    return new Session(dataDir, { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
  } catch (err) {
    throw new Error(
      `Cannot open chDB data directory ${dataDir} (is another process using it?): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A SQL string literal; setting values are all passed as text and parsed by the setting's type. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

function jsonLines<T>(bytes: Uint8Array): T[] {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
