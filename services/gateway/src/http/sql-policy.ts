import type { ClickHouseClient } from '@clickhouse/client';
import {
  HARMLESS_SYSTEM_TABLES,
  checkReadStatement,
  externalAccess,
  parseAstDump,
  type EngineCatalogue,
  type ReadPolicy,
} from '@livetally/clickhouse-ast';
import type { SqlVetting } from './types';

export interface SqlPolicyOptions {
  /** The database the endpoint's queries run in: all of its tables are readable. */
  database: string;
  /** Table functions engineers may read from (SQL_ALLOWED_TABLE_FUNCTIONS; none by default). */
  tableFunctions: string[];
  /** How long the engine's function and database lists are reused. */
  catalogueTtlMs?: number;
}

const CATALOGUE_TTL_MS = 10 * 60_000;
const EXPLAIN_SECONDS = 5;

/**
 * The statement exactly as @clickhouse/client sends it, before the FORMAT it appends:
 * trimmed, trailing semicolons removed. What is vetted is what runs.
 */
export function prepareStatement(query: string): string {
  return query.trim().replace(/;+$/, '');
}

/**
 * Decides from ClickHouse's own parse (`EXPLAIN AST`, asked of the server the query will
 * run on, as the same user) whether a query is a read the endpoint may run; see
 * checkReadStatement in @livetally/clickhouse-ast for the rules.
 */
export class EngineSqlPolicy {
  private readonly policy: ReadPolicy;
  private catalogue: { value: Promise<EngineCatalogue>; loadedAt: number } | undefined;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: SqlPolicyOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.policy = {
      database: options.database,
      tables: new Set(HARMLESS_SYSTEM_TABLES),
      tableFunctions: new Set(options.tableFunctions),
    };
  }

  /** Throws ClickHouse's error when the statement does not parse. */
  async vet(query: string): Promise<SqlVetting> {
    const statement = prepareStatement(query);
    if (statement === '') return { ok: false, refusal: 'STATEMENT', reason: 'the query is empty' };
    const parsed = parseAstDump(await this.explain(statement));
    if (!parsed.ok) return { ok: false, refusal: 'SYNTAX', reason: parsed.reason };
    const decision = checkReadStatement(parsed.root, this.policy, await this.engineCatalogue());
    if (!decision.ok) return { ok: false, refusal: decision.code, reason: decision.reason };
    // The read policy already refuses these; the engine-wide rule stays as a second lock.
    const external = externalAccess(parsed.root);
    return external ? { ok: false, refusal: 'EXTERNAL', reason: external } : { ok: true, statement };
  }

  private async explain(statement: string): Promise<string> {
    // exec, not query: query() would append a FORMAT clause, which the parser gives to the inner statement.
    const result = await this.client.exec({
      query: `EXPLAIN AST ${statement}`,
      clickhouse_settings: { default_format: 'JSONEachRow', max_execution_time: EXPLAIN_SECONDS },
    });
    const text = await streamText(result.stream);
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => String(Object.values(JSON.parse(line) as Record<string, unknown>)[0]))
      .join('\n');
  }

  private engineCatalogue(): Promise<EngineCatalogue> {
    const ttl = this.options.catalogueTtlMs ?? CATALOGUE_TTL_MS;
    if (!this.catalogue || this.now() - this.catalogue.loadedAt > ttl) {
      const value = this.loadCatalogue();
      this.catalogue = { value, loadedAt: this.now() };
      value.catch(() => (this.catalogue = undefined));
    }
    return this.catalogue.value;
  }

  private async loadCatalogue(): Promise<EngineCatalogue> {
    const [functions, combinators, databases] = await Promise.all([
      this.rows<{ name: string; case_insensitive: number; is_aggregate: number }>(
        'SELECT name, case_insensitive, is_aggregate FROM system.functions',
      ),
      this.rows<{ name: string }>('SELECT name FROM system.aggregate_function_combinators'),
      this.rows<{ name: string }>('SELECT name FROM system.databases'),
    ]);
    return {
      functions: new Set(functions.map((f) => f.name)),
      caseInsensitiveFunctions: new Set(
        functions.filter((f) => Number(f.case_insensitive) === 1).map((f) => f.name.toLowerCase()),
      ),
      aggregateFunctions: new Set(functions.filter((f) => Number(f.is_aggregate) === 1).map((f) => f.name)),
      combinators: combinators.map((c) => c.name),
      databases: new Set(databases.map((d) => d.name)),
    };
  }

  private async rows<T>(query: string): Promise<T[]> {
    const rs = await this.client.query({ query, format: 'JSONEachRow' });
    return rs.json<T>();
  }
}

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
