import type { Field } from './index';

type Schema = Record<string, Field<unknown>>;

/** A service's schema with what each of its variables sets, for generated references (.env.example). */
export interface EnvReference<S extends Schema = Schema> {
  schema: S;
  descriptions: { [K in keyof S]: string };
}

/** Ties one description to every variable of a schema; the type refuses a missing or unknown one. */
export function describeEnv<S extends Schema>(schema: S, descriptions: { [K in keyof S]: string }): EnvReference<S> {
  return { schema, descriptions };
}

/** The value a field takes when its variable is unset, as an env file writes it; undefined when it is required. */
export function defaultText(field: Field<unknown>, name: string): string | undefined {
  const parsed = field.parse(undefined, name);
  if (!parsed.ok) return undefined;
  return Array.isArray(parsed.value) ? parsed.value.join(',') : String(parsed.value);
}

export interface EnvSection {
  title: string;
  reference: EnvReference;
}

const WIDTH = 100;

/** Comment lines of at most WIDTH characters (a longer word keeps its own line). */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '#' && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

/**
 * An env file listing every variable of every section under its description, commented
 * out with its default: the file changes nothing until a line is uncommented, and a
 * variable several services read appears in each of their sections.
 */
export function renderEnvExample(header: string, sections: readonly EnvSection[]): string {
  const out = [...comment(header)];
  for (const { title, reference } of sections) {
    out.push('', `# ---- ${title} ----`);
    for (const [name, field] of Object.entries(reference.schema)) {
      const fallback = defaultText(field, name);
      const description = reference.descriptions[name] ?? '';
      out.push('', ...comment(fallback === undefined ? `${description} Required.` : description));
      out.push(`# ${name}=${fallback ?? ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}
