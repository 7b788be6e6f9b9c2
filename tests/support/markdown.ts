import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Just enough Markdown for the documentation tests: fenced blocks with their info string
 * and line, heading anchors as GitHub makes them, and the relative links of a page.
 */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The fence info string that marks a shell block the doc-test runs (```bash runnable). */
export const RUNNABLE_INFO = 'bash runnable';

export interface FencedBlock {
  info: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export interface MarkdownLink {
  target: string;
  line: number;
}

/** README.md, every page under docs/ and the packages' and services' READMEs, relative to the root. */
export function documentationPages(root = ROOT): string[] {
  const pages = ['README.md'];
  for (const dir of ['packages', 'services']) {
    for (const name of readdirSync(join(root, dir))) {
      if (existsSync(join(root, dir, name, 'README.md'))) pages.push(`${dir}/${name}/README.md`);
    }
  }
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) pages.push(relative(root, join(root, path)));
    }
  };
  walk('docs');
  return pages.sort();
}

export function readPage(page: string, root = ROOT): string {
  return readFileSync(join(root, page), 'utf8');
}

const FENCE = /^\s*(`{3,}|~{3,})(.*)$/;

/** Every line outside fenced blocks, with its 1-based number. */
function proseLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let open: string | undefined;
  text.split('\n').forEach((line, i) => {
    const fence = FENCE.exec(line);
    if (open === undefined && fence) open = fence[1];
    else if (open !== undefined && fence && fence[1]!.startsWith(open) && fence[2]!.trim() === '') open = undefined;
    else if (open === undefined) out.push({ text: line, line: i + 1 });
  });
  return out;
}

export function fencedBlocks(text: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let current: { fence: string; info: string; line: number; body: string[] } | undefined;
  text.split('\n').forEach((line, i) => {
    const fence = FENCE.exec(line);
    if (!current) {
      if (fence) current = { fence: fence[1]!, info: fence[2]!.trim(), line: i + 1, body: [] };
    } else if (fence && fence[1]!.startsWith(current.fence) && fence[2]!.trim() === '') {
      blocks.push({ info: current.info, body: current.body.join('\n'), line: current.line });
      current = undefined;
    } else {
      current.body.push(line);
    }
  });
  if (current) throw new Error(`unclosed code fence opened on line ${current.line}`);
  return blocks;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*`]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor of a page; a repeated heading gets -1, -2… as on GitHub. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = headingSlug(heading[1]!);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Links and images whose target is a path or an anchor on this site (no scheme), outside code. */
export function relativeLinks(text: string): MarkdownLink[] {
  // Fenced lines become empty and inline code spaces of the same length, so offsets keep their line.
  const kept = new Map(proseLines(text).map((l) => [l.line, l.text]));
  const prose = text
    .split('\n')
    .map((_, i) => kept.get(i + 1) ?? '')
    .join('\n')
    .replace(/(`+)[^`]*?\1/g, (code) => code.replace(/[^\n]/g, ' '));
  const links: MarkdownLink[] = [];
  for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1]!;
    const line = prose.slice(0, m.index).split('\n').length;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line });
  }
  return links;
}
