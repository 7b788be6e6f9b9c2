import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Session } from 'chdb';
import { writeEngineConfig } from './engine-config';
import { fromEngineError } from './errors';
import type { EngineStatement } from './http-protocol';

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

export interface EngineOptions extends EngineHooks {
  /**
   * Statements run at once, each on a chdb session of its own (default 2). Sessions
   * over one data directory share its data and run concurrently; settings and the
   * current database are per session, as they are per request in ClickHouse.
   */
  sessions?: number;
}

interface Waiting {
  job: EngineJob;
  resolve: (result: EngineResult) => void;
  reject: (err: unknown) => void;
}

/**
 * A small pool of chdb sessions over the data directory; each runs one job at a
 * time and a job waits for the next free session (preferably one already in the
 * job's database and settings). chdb runs statements of different sessions
 * concurrently, as a ClickHouse server runs its requests.
 */
export class ChdbEngine {
  private readonly idle: EngineSession[];
  private readonly waiting: Waiting[] = [];
  private running = 0;
  private closed = false;
  private drained: (() => void) | undefined;

  private constructor(
    private readonly sessions: EngineSession[],
    readonly info: EngineInfo,
  ) {
    this.idle = [...sessions];
  }

  static async open(dataDir: string, options: EngineOptions = {}): Promise<ChdbEngine> {
    mkdirSync(dataDir, { recursive: true });
    const target: SessionTarget = { dataDir, configFile: writeEngineConfig(dataDir).configFile };
    const session = openSession(target);
    const opened: Session[] = [session];
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
      const count = Math.max(1, Math.floor(options.sessions ?? 2));
      while (opened.length < count) opened.push(openSession(target));
      return new ChdbEngine(
        opened.map((s) => new EngineSession(s, target, baseline, options)),
        info,
      );
    } catch (err) {
      for (const s of opened) s.close();
      throw err;
    }
  }

  /** Jobs waiting or running. */
  get pending(): number {
    return this.waiting.length + this.running;
  }

  run(job: EngineJob): Promise<EngineResult> {
    if (this.closed) return Promise.reject(new Error('chdb engine is closed'));
    return new Promise<EngineResult>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Lets queued jobs finish, then releases the data directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pending > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    for (const s of this.sessions) s.close();
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const { job, resolve, reject } = this.waiting.shift()!;
      const at = this.idle.findIndex((s) => s.suits(job));
      const [session] = this.idle.splice(at < 0 ? 0 : at, 1);
      this.running++;
      session!
        .execute(job)
        .then(resolve, reject)
        .finally(() => {
          this.running--;
          this.idle.push(session!);
          if (this.pending === 0) this.drained?.();
          this.dispatch();
        });
    }
  }
}

/**
 * One chdb session, used by one job at a time. Each statement runs with exactly
 * the baseline settings plus the ones its request brings, in the request's
 * database: before a statement the session is brought there (settings the
 * previous request left are reset, changed ones SET, unchanged ones left alone),
 * so consecutive requests with the same settings cost no extra statements.
 * readonly is reset right after its statement. When a clean state cannot be
 * guaranteed the session is swapped for a fresh one: chdb connections to the
 * same directory share data but not settings.
 */
class EngineSession {
  /** Settings the session holds besides its baseline (name → value as SET), and its database. */
  private readonly applied = new Map<string, string>();
  private database = 'default';

  constructor(
    private session: Session,
    private readonly target: SessionTarget,
    /** Settings a fresh session starts with (name → value); a reset returns to these. */
    private readonly baseline: Map<string, string>,
    private readonly hooks: EngineHooks,
  ) {}

  /** True when the job needs no SET or USE here. */
  suits(job: EngineJob): boolean {
    if ((job.database ?? 'default') !== this.database || job.settings.length !== this.applied.size) return false;
    return job.settings.every(([name, value]) => this.applied.get(name) === value);
  }

  close(): void {
    this.session.close();
  }

  async execute(job: EngineJob): Promise<EngineResult> {
    const started = process.hrtime.bigint();
    const readonly = job.settings.some(([name]) => name === 'readonly');
    // What it takes afterwards to hand the next job a clean session. Without readonly
    // nothing: settings and database are reconciled lazily before the next statement.
    let cleanUp: 'none' | 'reset' | 'recycle' = 'none';
    try {
      cleanUp = 'recycle'; // until the session is known to hold exactly what the job asked for
      await this.prepare(job);
      cleanUp = readonly ? 'reset' : 'none';
      // What a SET or USE statement touches is not known here.
      if (job.sticky) cleanUp = 'recycle';
      const result = await this.statement(job);
      return { ...result, elapsedNs: Number(process.hrtime.bigint() - started) };
    } catch (err) {
      throw fromEngineError(err);
    } finally {
      if (cleanUp === 'reset') await this.reset();
      else if (cleanUp === 'recycle') this.recycle();
    }
  }

  /**
   * Brings the session to the job's settings and database in at most one SET and one
   * USE, and none when the previous job left them as this one needs them (an ingest
   * worker's inserts all carry the same client settings and database). Settings the
   * job does not name go back to the session's baseline first. Leftovers that make
   * the SET itself fail are dropped by starting over on a fresh session.
   */
  private async prepare(job: EngineJob): Promise<void> {
    const clauses = this.settingClauses(job);
    if (clauses.length > 0) {
      try {
        await this.exec(`SET ${clauses.join(', ')}`);
      } catch (err) {
        if (this.applied.size === 0 && this.database === 'default') throw err;
        this.recycle();
        const fresh = this.settingClauses(job);
        if (fresh.length > 0) await this.exec(`SET ${fresh.join(', ')}`);
      }
      this.applied.clear();
      for (const [name, value] of job.settings) this.applied.set(name, value);
    }
    const database = job.database ?? 'default';
    if (database !== this.database) {
      await this.exec(`USE ${quoteIdentifier(database)}`);
      this.database = database;
    }
  }

  /** SET clauses from the session's current settings to exactly the job's; readonly, if any, last. */
  private settingClauses(job: EngineJob): string[] {
    const wanted = new Map(job.settings);
    const clauses: string[] = [];
    for (const name of this.applied.keys()) if (!wanted.has(name)) clauses.push(this.resetClause(name));
    for (const [name, value] of job.settings)
      if (this.applied.get(name) !== value) clauses.push(`${name} = ${quote(value)}`);
    return clauses;
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

  /** After a readonly job: back to the baseline at once (a later SET may not be allowed while readonly is on). */
  private async reset(): Promise<void> {
    try {
      if (this.applied.size > 0) {
        // Reverse order puts readonly first: while it is on, nothing else could be reset.
        const names = [...this.applied.keys()].reverse();
        await this.exec(`SET ${names.map((name) => this.resetClause(name)).join(', ')}`);
        this.applied.clear();
      }
      if (this.database !== 'default') {
        await this.exec('USE default');
        this.database = 'default';
      }
    } catch (err) {
      this.hooks.onSessionProblem?.(err, 'could not reset the session after a query; replacing it');
      this.recycle();
    }
  }

  /** Swaps the session for a fresh one: same data, default settings and database. */
  private recycle(): void {
    let fresh: Session;
    try {
      fresh = openSession(this.target);
    } catch (err) {
      this.hooks.onSessionProblem?.(err, 'could not open a fresh session; keeping the current one');
      return;
    }
    const old = this.session;
    this.session = fresh;
    this.applied.clear();
    this.database = 'default';
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

/** Where a session opens: the data directory and the engine configuration written for it. */
interface SessionTarget {
  dataDir: string;
  configFile: string;
}

function openSession({ dataDir, configFile }: SessionTarget): Session {
  try {
    // Quoted 64-bit integers keep values beyond 2^53 exact in JSON output, which
    // @clickhouse/client relies on; chdb's own default leaves them unquoted.
    return new Session(dataDir, {
      connectionArgs: [`--config-file=${configFile}`, '--output_format_json_quote_64bit_integers=1'],
    });
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
