import { SCOPE_KINDS, formatScope, parseScope } from '@livetally/events';

/**
 * Scope patterns a token lists in `scopes`: `*` (every scope), `<kind>:*` (every scope
 * of one kind, e.g. `district:*`) or one exact scope in its canonical form (`all`,
 * `campaign:ecm-2024`, `district:Luohu`). `all` is the exact scope "all", not a wildcard.
 */
const KINDS: ReadonlySet<string> = new Set([...SCOPE_KINDS.filter((k) => k !== 'all'), 'campaign']);

/** A problem with one pattern, or undefined when it is valid. Never throws. */
export function checkScopePattern(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  if (pattern.endsWith(':*')) {
    const kind = pattern.slice(0, -2);
    return KINDS.has(kind)
      ? undefined
      : `scope pattern ${JSON.stringify(pattern.slice(0, 80))} names an unknown kind; expected one of ${[...KINDS].join(', ')}`;
  }
  const canonical = canonicalScope(pattern);
  if (canonical === undefined)
    return `scope pattern ${JSON.stringify(pattern.slice(0, 80))} is not *, <kind>:* or a scope such as campaign:ecm-2024`;
  return canonical === pattern
    ? undefined
    : `scope pattern ${JSON.stringify(pattern.slice(0, 80))} must be written ${JSON.stringify(canonical)}`;
}

/** The canonical form of a scope, or undefined when it is not a valid scope. */
export function canonicalScope(text: string): string | undefined {
  const parsed = parseScope(text);
  return parsed.ok ? formatScope(parsed.scope) : undefined;
}

/**
 * True when one of the patterns covers the scope. A scope that is not valid is
 * covered only by `*` (whoever may see everything may also be told it is malformed).
 */
export function scopeAllowed(patterns: readonly string[], scope: string): boolean {
  if (patterns.includes('*')) return true;
  const canonical = canonicalScope(scope);
  if (canonical === undefined) return false;
  const kind = canonical === 'all' ? 'all' : canonical.slice(0, canonical.indexOf(':'));
  return patterns.some((p) => p === canonical || p === `${kind}:*`);
}
