/**
 * Reads the text ClickHouse prints for `EXPLAIN AST <statement>` into a tree.
 *
 * The dump is one node per line, indented one space per level:
 *   `<Type>[ <name>][ (alias <alias>)][ (children <n>)]`
 * ClickHouse prints identifiers and aliases as written, newlines included, so a hostile
 * statement can add lines of its own. It cannot remove or re-indent the lines ClickHouse
 * prints for real nodes, and every real parent announces how many children it has: a dump
 * whose counts do not add up, or with a second root, is refused instead of guessed at.
 */
export interface AstNode {
  type: string;
  /** What follows the type: a function's or table's name, a literal, an EXPLAIN kind. */
  name: string;
  alias?: string;
  depth: number;
  children: AstNode[];
  /** The node's line in the dump, from 1 (for messages). */
  line: number;
}

export type DumpResult = { ok: true; root: AstNode } | { ok: false; reason: string };

const CHILDREN = / ?\(children (\d+)\)$/;
const ALIAS = / ?\(alias (.*)\)$/s;

/** Node types whose names contain a space ("Columns definition", "Storage definition", …). */
const SPACED_TYPES = [
  'Columns definition',
  'Storage definition',
  'Dictionary definition',
  'Dictionary lifetime',
  'Dictionary layout',
  'Dictionary range',
  'Dictionary settings',
];

export function parseAstDump(text: string): DumpResult {
  const lines = text.replace(/\n+$/, '').split('\n');
  if (lines.length === 0 || lines[0] === '') return { ok: false, reason: 'ClickHouse returned an empty parse' };
  const stack: Array<{ node: AstNode; expected: number }> = [];
  let root: AstNode | undefined;
  for (let i = 0; i < lines.length; i++) {
    const parsed = parseLine(lines[i]!, i + 1);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    const { node, expected } = parsed;
    while (stack.length > 0 && stack[stack.length - 1]!.node.depth >= node.depth) {
      const closed = closeNode(stack.pop()!);
      if (closed) return { ok: false, reason: closed };
    }
    if (node.depth === 0) {
      if (root) return { ok: false, reason: `the parse has a second statement at line ${node.line}` };
      root = node;
    } else {
      const parent = stack[stack.length - 1];
      if (!parent || parent.node.depth !== node.depth - 1)
        return { ok: false, reason: `line ${node.line} of the parse is not nested under a node` };
      parent.node.children.push(node);
    }
    stack.push({ node, expected });
  }
  while (stack.length > 0) {
    const closed = closeNode(stack.pop()!);
    if (closed) return { ok: false, reason: closed };
  }
  return root ? { ok: true, root } : { ok: false, reason: 'ClickHouse returned an empty parse' };
}

function parseLine(raw: string, line: number): { node: AstNode; expected: number } | string {
  const depth = raw.length - raw.trimStart().length;
  let rest = raw.slice(depth);
  if (raw.slice(0, depth).replace(/ /g, '') !== '') return `line ${line} of the parse has unexpected indentation`;
  let expected = 0;
  const children = CHILDREN.exec(rest);
  if (children) {
    expected = Number(children[1]);
    rest = rest.slice(0, children.index);
  }
  let alias: string | undefined;
  const aliasMatch = ALIAS.exec(rest);
  if (aliasMatch) {
    alias = aliasMatch[1];
    rest = rest.slice(0, aliasMatch.index);
  }
  const spaced = SPACED_TYPES.find((t) => rest === t || rest.startsWith(`${t} `));
  const type = spaced ?? /^[A-Za-z]+/.exec(rest)?.[0];
  if (!type) return `line ${line} of the parse does not start with a node type`;
  const name = rest.slice(type.length).trim();
  return { node: { type, name, ...(alias !== undefined ? { alias } : {}), depth, children: [], line }, expected };
}

function closeNode(open: { node: AstNode; expected: number }): string | undefined {
  const got = open.node.children.length;
  if (got === open.expected) return undefined;
  return `the parse does not add up at line ${open.node.line} (${open.node.type} announces ${open.expected} children, ${got} follow); a name or alias holds a line break`;
}

/** Every node of the tree, parents before children. */
export function* walk(node: AstNode, parents: AstNode[] = []): Generator<{ node: AstNode; parents: AstNode[] }> {
  yield { node, parents };
  for (const child of node.children) yield* walk(child, [...parents, node]);
}
