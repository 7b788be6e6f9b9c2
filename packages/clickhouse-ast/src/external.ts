import { walk, type AstNode } from './dump';

/**
 * Functions, table functions, table engines and dictionary sources that read or write
 * outside ClickHouse's own tables: files, the network, other databases, processes.
 * Lower-cased; a name matches exactly or, for the families, by prefix. `input()` is not
 * among them: it reads the request's own body (ingest's fenced inserts use it); the SQL
 * endpoint refuses it with every other table function.
 */
export const EXTERNAL_FUNCTIONS: ReadonlySet<string> = new Set([
  'file',
  'filecluster',
  'filelog',
  'filesystem',
  'url',
  'urlcluster',
  'http',
  'https',
  'remote',
  'remotesecure',
  'cluster',
  'clusterallreplicas',
  'distributed',
  'executable',
  'executablepool',
  'catboostevaluate',
  'modelevaluate',
  'gcs',
  'oss',
  'cosn',
  'mongo',
  'ytsaurus',
  'sqlite',
  'jdbc',
  'odbc',
  'nats',
  'rabbitmq',
  'kafka',
  'hive',
  'arrowflight',
  'arrowstream',
  'dictionary',
]);
const EXTERNAL_FAMILIES = [
  's3',
  'hdfs',
  'azure',
  'iceberg',
  'deltalake',
  'hudi',
  'paimon',
  'mysql',
  'postgres',
  'mongodb',
  'redis',
  'cassandra',
  'prometheus',
];

export function isExternalFunction(name: string): boolean {
  const lower = name.toLowerCase();
  return EXTERNAL_FUNCTIONS.has(lower) || EXTERNAL_FAMILIES.some((family) => lower.startsWith(family));
}

/** Statements that move whole tables to or from paths and disks outside the engine's control. */
const FILE_STATEMENTS = new Set(['AttachQuery', 'BackupQuery', 'RestoreQuery']);

/**
 * Why the parsed statement would read or write outside ClickHouse's tables, or undefined.
 * A literal directly under a statement node is the path of `INTO OUTFILE` or
 * `FROM INFILE` (or their compression settings); only CREATE keeps its COMMENT there.
 */
export function externalAccess(root: AstNode): string | undefined {
  if (FILE_STATEMENTS.has(root.type))
    return `${statementLabel(root.type)} reads or writes files outside ClickHouse's tables and is not accepted`;
  for (const { node, parents } of walk(root)) {
    const parent = parents[parents.length - 1];
    if (node.type === 'Literal' && parent && isStatement(parent) && parent.type !== 'CreateQuery') {
      return parent.type === 'InsertQuery' ? 'FROM INFILE is not accepted' : 'INTO OUTFILE is not accepted';
    }
    if ((node.type === 'Function' || node.type === 'FunctionWithKeyValueArguments') && isExternalFunction(node.name)) {
      return `${node.name} reads or writes outside ClickHouse's tables and is not accepted`;
    }
    if (node.type === 'Dictionary definition')
      return "dictionaries read from sources outside ClickHouse's tables and are not accepted";
  }
  return undefined;
}

/** A statement node (the root, or one nested by EXPLAIN or CREATE … AS SELECT); SELECT's own parts are not. */
export function isStatement(node: AstNode): boolean {
  if (node.type === 'SelectQuery' || node.type === 'SelectIntersectExceptQuery') return false;
  return (
    node.type === 'SelectWithUnionQuery' ||
    node.type === 'Explain' ||
    node.type.endsWith('Query') ||
    node.type.startsWith('Show')
  );
}

function statementLabel(type: string): string {
  return type.replace(/Query$/, '').toUpperCase();
}
