/**
 * A deliberately small SQL lexer: just enough to learn what the HTTP layer
 * must know about a statement without parsing it — the leading keyword, an
 * INSERT's data format and where its inline data starts, a trailing
 * `FORMAT <name>` (for the X-ClickHouse-Format header) and whether the text
 * holds more than one statement. The engine does the real parsing.
 */
export interface SqlShape {
  /** First keyword, upper-cased; '' when the text starts with something else. */
  keyword: string;
  /** True when a second statement follows a top-level `;` (ClickHouse HTTP refuses these). */
  multiStatement: boolean;
  /** `FORMAT <name>` that ends a non-INSERT statement. */
  outputFormat?: string;
  /** `INSERT ... FORMAT <name>`: the data format. */
  insertFormat?: string;
  /** Offset just past the INSERT's format name; inline data (if any) follows. */
  dataOffset?: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_\u0080-\uffff]/;
const HEREDOC = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;

export function scanSql(sql: string): SqlShape {
  const shape: SqlShape = { keyword: '', multiStatement: false };
  const n = sql.length;
  let i = 0;
  let depth = 0;
  let first = true;
  let afterSemicolon = false;
  let prevWasFormat = false;
  // A FORMAT clause only counts when nothing but SETTINGS follows it, so that
  // a column called `format` in `SELECT format FROM t` is not mistaken for one.
  let candidate: { name: string; open: boolean } | undefined;

  const significant = (word: string | undefined): boolean => {
    if (afterSemicolon) {
      shape.multiStatement = true;
      return false;
    }
    if (first) {
      first = false;
      shape.keyword = word?.toUpperCase() ?? '';
    }
    const upper = word?.toUpperCase();
    if (candidate?.open) {
      if (upper === 'SETTINGS') candidate.open = false;
      else candidate = undefined;
    }
    if (prevWasFormat && word !== undefined && depth === 0) {
      prevWasFormat = false;
      if (shape.keyword === 'INSERT') {
        shape.insertFormat = word;
        shape.dataOffset = i;
        return false;
      }
      candidate = { name: word, open: true };
      return true;
    }
    prevWasFormat = upper === 'FORMAT' && depth === 0;
    return true;
  };

  while (i < n) {
    const c = sql[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if ((c === '-' && sql[i + 1] === '-') || (c === '#' && (sql[i + 1] === ' ' || sql[i + 1] === '!'))) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === "'" || c === '"' || c === '`') {
      const end = skipQuoted(sql, i, c);
      if (!significant(undefined)) return shape;
      i = end;
    } else if (c === '$' && ((HEREDOC.lastIndex = i), HEREDOC.test(sql))) {
      const tag = sql.slice(i, HEREDOC.lastIndex);
      const close = sql.indexOf(tag, HEREDOC.lastIndex);
      if (!significant(undefined)) return shape;
      i = close < 0 ? n : close + tag.length;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j]!)) j++;
      const word = sql.slice(i, j);
      i = j;
      if (!significant(word)) return shape;
    } else if (c === ';' && depth === 0) {
      afterSemicolon = true;
      i++;
    } else {
      if (!significant(undefined)) return shape;
      if (c === '(' || c === '[') depth++;
      else if ((c === ')' || c === ']') && depth > 0) depth--;
      i++;
    }
  }
  if (candidate) shape.outputFormat = candidate.name;
  return shape;
}

function skipBlockComment(sql: string, start: number): number {
  // ClickHouse allows nested block comments.
  let level = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      level++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      level--;
      i += 2;
      if (level === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '\\') {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

/** True when nothing but whitespace follows `offset` (an INSERT with no inline data). */
export function isBlankFrom(text: string, offset: number): boolean {
  for (let i = offset; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}
