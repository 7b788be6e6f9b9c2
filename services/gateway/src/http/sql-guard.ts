/**
 * The first gate of POST /v1/sql: accepts only a single read statement. It is a small
 * lexer, not a parser — comments, quoted strings and heredocs are skipped so their
 * contents cannot hide or fake a keyword — and ClickHouse's readonly=1 stays the real
 * enforcement behind it.
 */
export type GuardResult = { ok: true; query: string } | { ok: false; reason: string };

export const READ_KEYWORDS = ['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS'] as const;

/** Settings a query may not override: the limits the endpoint imposes and anything that loosens them. */
const PROTECTED_SETTING = /^(readonly|allow_ddl|allow_introspection_functions|max_.*|.*_overflow_mode|timeout_before_checking_execution_speed|min_execution_speed.*|result_.*|memory_.*|.*_memory_usage.*)$/i;

/** Table functions and functions that reach outside ClickHouse's own tables (files, network, processes). */
const EXTERNAL_FUNCTIONS = new Set(
  ['file', 'fileCluster', 'url', 'urlCluster', 's3', 's3Cluster', 'gcs', 'hdfs', 'hdfsCluster', 'azureBlobStorage', 'azureBlobStorageCluster', 'remote', 'remoteSecure',
    'cluster', 'clusterAllReplicas', 'mysql', 'postgresql', 'mongodb', 'redis', 'sqlite', 'jdbc', 'odbc', 'executable', 'input', 'iceberg', 'deltaLake', 'hudi', 'dictionary']
    .map((f) => f.toLowerCase()),
);

interface Token {
  kind: 'word' | 'quoted' | 'symbol';
  text: string;
  depth: number;
  start: number;
  end: number;
}

export function checkReadOnly(sql: string): GuardResult {
  const lexed = tokenize(sql);
  if (!lexed.ok) return lexed;
  const tokens = lexed.tokens;
  if (tokens.length === 0) return { ok: false, reason: 'the query is empty' };
  const first = tokens[0]!;
  if (first.kind !== 'word' || !(READ_KEYWORDS as readonly string[]).includes(first.text.toUpperCase())) {
    return { ok: false, reason: `only ${READ_KEYWORDS.join(', ')} statements are accepted, got ${JSON.stringify(first.text.slice(0, 40))}` };
  }
  const semicolon = tokens.findIndex((t) => t.kind === 'symbol' && t.text === ';');
  if (semicolon >= 0 && semicolon < tokens.length - 1) return { ok: false, reason: 'only one statement is accepted; remove everything after the ;' };
  const body = semicolon >= 0 ? tokens.slice(0, semicolon) : tokens;
  for (let i = 0; i < body.length; i++) {
    const t = body[i]!;
    if (t.kind !== 'word') continue;
    const upper = t.text.toUpperCase();
    const next = body[i + 1];
    if (upper === 'INTO' && next?.kind === 'word' && next.text.toUpperCase() === 'OUTFILE') return { ok: false, reason: 'INTO OUTFILE is not accepted' };
    const after = body[i + 2];
    const clauseEnds = after === undefined || (after.kind === 'word' && after.text.toUpperCase() === 'SETTINGS');
    if (upper === 'FORMAT' && t.depth === 0 && next?.kind === 'word' && clauseEnds) return { ok: false, reason: 'a FORMAT clause is not accepted; choose the format with the "format" field' };
    if (next?.kind === 'symbol' && next.text === '(' && EXTERNAL_FUNCTIONS.has(t.text.toLowerCase())) {
      return { ok: false, reason: `${t.text}() reads outside ClickHouse's tables and is not accepted` };
    }
    if (upper === 'SETTINGS') {
      const name = protectedSettingAfter(body, i);
      if (name) return { ok: false, reason: `SETTINGS may not override ${name}; the endpoint's limits are fixed by its configuration` };
    }
  }
  // Sent without the trailing ; (the client appends its FORMAT clause after the statement).
  const end = semicolon >= 0 ? tokens[semicolon - 1]?.end ?? 0 : sql.length;
  return { ok: true, query: sql.slice(0, end) };
}

/** The first protected name among `name = value, …` pairs following SETTINGS. */
function protectedSettingAfter(tokens: Token[], at: number): string | undefined {
  const depth = tokens[at]!.depth;
  for (let j = at + 1; j < tokens.length && tokens[j]!.depth >= depth; j++) {
    const t = tokens[j]!;
    const next = tokens[j + 1];
    if (t.kind === 'word' && t.depth === depth && next?.kind === 'symbol' && next.text === '=' && PROTECTED_SETTING.test(t.text)) return t.text;
  }
  return undefined;
}

function tokenize(sql: string): { ok: true; tokens: Token[] } | { ok: false; reason: string } {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if ((c === '-' && sql[i + 1] === '-') || (c === '#' && (sql[i + 1] === ' ' || sql[i + 1] === '!'))) {
      // The comment forms ClickHouse's lexer knows; any other # stays a symbol.
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = skipBlockComment(sql, i);
      if (end < 0) return { ok: false, reason: 'a /* comment is not closed' };
      i = end;
    } else if (c === "'" || c === '"' || c === '`') {
      const end = skipQuoted(sql, i, c);
      if (end < 0) return { ok: false, reason: `a ${c} quote is not closed` };
      tokens.push({ kind: 'quoted', text: sql.slice(i, end), depth, start: i, end });
      i = end;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i, i + 66))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 66))![0];
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) return { ok: false, reason: `a ${tag} string is not closed` };
      tokens.push({ kind: 'quoted', text: sql.slice(i, close + tag.length), depth, start: i, end: close + tag.length });
      i = close + tag.length;
    } else if (/[\p{L}_]/u.test(c)) {
      let j = i + 1;
      while (j < n && /[\p{L}\p{N}_$]/u.test(sql[j]!)) j++;
      tokens.push({ kind: 'word', text: sql.slice(i, j), depth, start: i, end: j });
      i = j;
    } else {
      if (c === ')' || c === ']') depth = Math.max(0, depth - 1);
      tokens.push({ kind: 'symbol', text: c, depth, start: i, end: i + 1 });
      if (c === '(' || c === '[') depth++;
      i++;
    }
  }
  return { ok: true, tokens };
}

function skipBlockComment(sql: string, start: number): number {
  let level = 0;
  for (let i = start; i < sql.length; ) {
    if (sql.startsWith('/*', i)) {
      level++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      i += 2;
      if (--level === 0) return i;
    } else i++;
  }
  return -1;
}

function skipQuoted(sql: string, start: number, quote: string): number {
  for (let i = start + 1; i < sql.length; ) {
    const c = sql[i];
    if (c === '\\') i += 2;
    else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return -1;
}
