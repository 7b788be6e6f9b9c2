import { walk, type AstNode } from './dump';
import { isExternalFunction, isStatement } from './external';

/** What the engine knows, read once from the server the queries will run on. */
export interface EngineCatalogue {
  /** system.functions: exact names, and the lower-cased names of case-insensitive ones. */
  functions: ReadonlySet<string>;
  caseInsensitiveFunctions: ReadonlySet<string>;
  /** Aggregate functions (exact names) and system.aggregate_function_combinators (`If`, `Merge`, `State`, …). */
  aggregateFunctions: ReadonlySet<string>;
  combinators: readonly string[];
  /** system.databases (names as stored). */
  databases: ReadonlySet<string>;
}

export interface ReadPolicy {
  /** The database unqualified table names resolve in; all its tables are readable. */
  database: string;
  /** Readable tables of other databases, as `database.table` (e.g. `system.parts`). */
  tables: ReadonlySet<string>;
  /** Table functions a query may read from (none by default). */
  tableFunctions: ReadonlySet<string>;
}

export type PolicyDecision = { ok: true; statement: string } | { ok: false; code: PolicyRefusal; reason: string };

export type PolicyRefusal = 'STATEMENT' | 'OUTPUT' | 'SETTINGS' | 'FUNCTION' | 'TABLE_FUNCTION' | 'TABLE' | 'SYNTAX';

/** System tables whose rows say nothing about users, secrets, other queries or the host's files. */
export const HARMLESS_SYSTEM_TABLES = [
  'one',
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'tables',
  'columns',
  'databases',
  'parts',
  'parts_columns',
  'functions',
  'table_functions',
  'data_type_families',
  'formats',
  'time_zones',
  'settings',
  'merges',
  'mutations',
].map((t) => `system.${t}`);

const READ_STATEMENTS = new Set([
  'SelectWithUnionQuery',
  'ShowTables',
  'DescribeQuery',
  'ExistsTableQuery',
  'ShowCreateTableQuery',
]);
const EXPLAIN_KINDS = new Set([
  'EXPLAIN',
  'EXPLAIN AST',
  'EXPLAIN SYNTAX',
  'EXPLAIN PLAN',
  'EXPLAIN PIPELINE',
  'EXPLAIN QUERY TREE',
  'EXPLAIN ESTIMATE',
]);

/** Every node type a read statement is made of; anything else (DDL, SET, parameters, …) is refused. */
const READ_NODE_TYPES = new Set([
  ...READ_STATEMENTS,
  'Explain',
  'SelectIntersectExceptQuery',
  'SelectQuery',
  'ExpressionList',
  'Identifier',
  'TableIdentifier',
  'Function',
  'Literal',
  'Asterisk',
  'QualifiedAsterisk',
  'ColumnsRegexpMatcher',
  'ColumnsListMatcher',
  'QualifiedColumnsRegexpMatcher',
  'QualifiedColumnsListMatcher',
  'ColumnsTransformerList',
  'ColumnsApplyTransformer',
  'ColumnsExceptTransformer',
  'ColumnsReplaceTransformer',
  'ColumnsReplaceTransformerReplacement',
  'Subquery',
  'WithElement',
  'TablesInSelectQuery',
  'TablesInSelectQueryElement',
  'TableExpression',
  'TableJoin',
  'ArrayJoin',
  'OrderByElement',
  'InterpolateElement',
  'WindowDefinition',
  'WindowListElement',
  'SampleRatio',
  'DataType',
  'NameTypePair',
  'ColumnsMatcher',
]);

/** Functions the parser writes itself and system.functions does not list. */
const PARSER_FUNCTIONS = new Set(['lambda', 'exists', 'grouping']);

/** Reads a scalar from outside the tables the policy allows (dictionaries, Join tables) or the host (introspection). */
const OUT_OF_POLICY_FUNCTION = /^(dict[A-Z]|joinGet|addressTo|demangle|getServerSetting|hasColumnInTable)/i;

const IN_FUNCTIONS = new Set([
  'in',
  'notIn',
  'globalIn',
  'globalNotIn',
  'nullIn',
  'notNullIn',
  'globalNullIn',
  'globalNotNullIn',
]);

/**
 * Decides whether a parsed statement is a read the SQL endpoint may run: an allowlist of
 * statement kinds, node types, functions (those the engine itself lists, minus the ones
 * that reach outside the allowed tables), table functions and tables. Names are the ones
 * ClickHouse resolved in its parse, so quoting, casing and comments change nothing.
 */
export function checkReadStatement(root: AstNode, policy: ReadPolicy, catalogue: EngineCatalogue): PolicyDecision {
  const statement = root.type === 'Explain' ? root.name : root.type;
  const refuse = (code: PolicyRefusal, reason: string): PolicyDecision => ({ ok: false, code, reason });
  if (root.type === 'Explain') {
    if (!EXPLAIN_KINDS.has(root.name)) return refuse('STATEMENT', `${root.name} is not accepted`);
  } else if (!READ_STATEMENTS.has(root.type)) {
    return refuse(
      'STATEMENT',
      `only SELECT, WITH, SHOW TABLES, SHOW CREATE TABLE, DESCRIBE, EXISTS and EXPLAIN are accepted, got ${describeStatement(root)}`,
    );
  }
  for (const { node, parents } of walk(root)) {
    const parent = parents[parents.length - 1];
    if (node.type === 'Set')
      return refuse(
        'SETTINGS',
        "a SETTINGS clause is not accepted; the endpoint's limits are fixed by its configuration",
      );
    if (!READ_NODE_TYPES.has(node.type))
      return refuse('STATEMENT', `${node.type} is not accepted in a read-only query`);
    if (parent && isStatement(parent)) {
      if (node.type === 'Literal') return refuse('OUTPUT', 'INTO OUTFILE is not accepted');
      if (
        node.type === 'Identifier' &&
        parent.type !== 'ShowTables' &&
        parent.type !== 'ExistsTableQuery' &&
        parent.type !== 'ShowCreateTableQuery'
      ) {
        return refuse('OUTPUT', 'a FORMAT clause is not accepted; choose the format with the "format" field');
      }
      if (parent.type === 'Explain' && !READ_STATEMENTS.has(node.type))
        return refuse('STATEMENT', `EXPLAIN of ${describeStatement(node)} is not accepted`);
    }
    if (node.type === 'Function') {
      const refused = checkFunction(node, parent, policy, catalogue);
      if (refused) return refused;
    }
    const table = tableNamed(node, parents);
    if (table) {
      const refused = checkTable(table, policy, catalogue);
      if (refused) return refuse('TABLE', refused);
    }
  }
  return { ok: true, statement };
}

function checkFunction(
  node: AstNode,
  parent: AstNode | undefined,
  policy: ReadPolicy,
  catalogue: EngineCatalogue,
): PolicyDecision | undefined {
  const name = node.name;
  if (parent?.type === 'TableExpression' || parent?.type === 'DescribeQuery') {
    if (policy.tableFunctions.has(name) && !isExternalFunction(name)) return undefined;
    return {
      ok: false,
      code: 'TABLE_FUNCTION',
      reason: `the table function ${name}() is not accepted; query the tables instead`,
    };
  }
  if (isExternalFunction(name) || OUT_OF_POLICY_FUNCTION.test(name)) {
    return {
      ok: false,
      code: 'FUNCTION',
      reason: `${name}() reads outside the tables this endpoint may read and is not accepted`,
    };
  }
  if (!isKnownFunction(name, catalogue))
    return { ok: false, code: 'FUNCTION', reason: `unknown function ${JSON.stringify(name)}` };
  return undefined;
}

function isKnownFunction(name: string, catalogue: EngineCatalogue): boolean {
  if (
    catalogue.functions.has(name) ||
    catalogue.caseInsensitiveFunctions.has(name.toLowerCase()) ||
    PARSER_FUNCTIONS.has(name)
  )
    return true;
  return isCombinedAggregate(name, catalogue, 0);
}

/** `sumIf`, `uniqMerge`, `sumArrayIf`: an aggregate function followed by one or more combinators. */
function isCombinedAggregate(name: string, catalogue: EngineCatalogue, depth: number): boolean {
  if (depth > 4) return false;
  for (const combinator of catalogue.combinators) {
    if (!name.endsWith(combinator) || name.length === combinator.length) continue;
    const base = name.slice(0, -combinator.length);
    if (
      catalogue.aggregateFunctions.has(base) ||
      catalogue.caseInsensitiveFunctions.has(base.toLowerCase()) ||
      isCombinedAggregate(base, catalogue, depth + 1)
    )
      return true;
  }
  return false;
}

/**
 * The `database.table` (or bare `table`) a node names as a table: a FROM/DESCRIBE/EXISTS
 * target, the right side of IN, or any identifier whose first part is a database.
 */
function tableNamed(node: AstNode, parents: AstNode[]): string | undefined {
  if (node.type === 'TableIdentifier') return node.name;
  if (node.type !== 'Identifier') return undefined;
  const parent = parents[parents.length - 1];
  if (parent && (parent.type === 'ExistsTableQuery' || parent.type === 'ShowCreateTableQuery')) return node.name;
  const call = parents[parents.length - 2];
  if (call?.type === 'Function' && IN_FUNCTIONS.has(call.name) && parent?.children[1] === node) return node.name;
  return node.name.includes('.') ? `?${node.name}` : undefined;
}

/** A leading `?` marks an identifier that may be a column (`alias.column`): only its database part is checked. */
function checkTable(named: string, policy: ReadPolicy, catalogue: EngineCatalogue): string | undefined {
  const maybeColumn = named.startsWith('?');
  const parts = (maybeColumn ? named.slice(1) : named).split('.');
  if (parts.length === 1) return undefined; // the policy's database
  const [database, table] = parts as [string, string];
  if (maybeColumn && !catalogue.databases.has(database) && !/^information_schema$/i.test(database)) return undefined;
  if (!maybeColumn && parts.length > 2)
    return `the table name ${JSON.stringify(named)} is ambiguous; quote it as database.table`;
  if (database === policy.database) return undefined;
  if (policy.tables.has(`${database}.${table}`)) return undefined;
  return `the table ${database}.${table} is not readable through this endpoint`;
}

function describeStatement(node: AstNode): string {
  return node.type
    .replace(/Query$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}
