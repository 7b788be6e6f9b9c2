import { LIMITS } from './limits';
import type { EventBase } from './types';
import { DIMENSION_PATTERN, ID_PATTERN, characterCount } from './fields';

/** Scope kinds that every event contributes to; campaigns are added by campaign matching. */
export const SCOPE_KINDS = ['all', 'city', 'district', 'category', 'platform', 'host', 'stream'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number] | 'campaign';
export type DimensionKind = Exclude<(typeof SCOPE_KINDS)[number], 'all'>;

/** The event field each dimension scope takes its value from. */
export const DIMENSION_FIELDS = {
  city: 'city',
  district: 'district',
  category: 'category',
  platform: 'platform',
  host: 'hostId',
  stream: 'streamId',
} as const satisfies Record<DimensionKind, keyof EventBase>;

/** Dimension scope kinds in scopesOf order (every kind but `all`). */
export const DIMENSION_KINDS = SCOPE_KINDS.filter((k): k is DimensionKind => k !== 'all');

export interface Scope {
  kind: ScopeKind;
  /** Empty for `all`. */
  value: string;
}

const KIND_SET: ReadonlySet<string> = new Set<string>([...SCOPE_KINDS, 'campaign']);
// Same alphabet the validator lets into dimension values and ids.
const SCOPE_VALUE = /^[\p{L}\p{N}][\p{L}\p{N} '._-]{0,127}$/u;

export function formatScope(scope: Scope): string {
  return scope.kind === 'all' ? 'all' : `${scope.kind}:${scope.value}`;
}

/** The scope strings an event counts towards, `all` first, then DIMENSION_KINDS. */
export function scopesOf(event: EventBase): string[] {
  const out = ['all'];
  for (const kind of DIMENSION_KINDS) out.push(`${kind}:${event[DIMENSION_FIELDS[kind]]}`);
  return out;
}

/** Parses "all" or "<kind>:<value>"; returns an error message instead of throwing. */
export function parseScope(text: string): { ok: true; scope: Scope } | { ok: false; message: string } {
  if (text === 'all') return { ok: true, scope: { kind: 'all', value: '' } };
  const colon = text.indexOf(':');
  if (colon <= 0) return { ok: false, message: `scope must be "all" or "<kind>:<value>", got ${JSON.stringify(text)}` };
  const kind = text.slice(0, colon);
  const value = text.slice(colon + 1);
  if (!KIND_SET.has(kind) || kind === 'all') {
    return {
      ok: false,
      message: `unknown scope kind ${JSON.stringify(kind)}; expected one of ${[...KIND_SET].filter((k) => k !== 'all').join(', ')}`,
    };
  }
  if (!SCOPE_VALUE.test(value))
    return {
      ok: false,
      message: `scope value ${JSON.stringify(value)} is empty, too long or has characters that are not allowed`,
    };
  return { ok: true, scope: { kind: kind as ScopeKind, value } };
}

/** Campaign ids, as the campaign API accepts them: lowercase letters, digits and '-', at most 64. */
export const CAMPAIGN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

// Each kind's value as it can exist: the pattern and length the event validator lets into
// the field the scope comes from (campaigns: the campaign API's id rule).
const VALUE_RULES: Record<Exclude<ScopeKind, 'all'>, { pattern: RegExp; maxLength: number }> = {
  city: { pattern: DIMENSION_PATTERN, maxLength: LIMITS.maxDimensionLength },
  district: { pattern: DIMENSION_PATTERN, maxLength: LIMITS.maxDimensionLength },
  category: { pattern: DIMENSION_PATTERN, maxLength: LIMITS.maxDimensionLength },
  platform: { pattern: ID_PATTERN, maxLength: LIMITS.maxDimensionLength },
  host: { pattern: ID_PATTERN, maxLength: LIMITS.maxIdLength },
  stream: { pattern: ID_PATTERN, maxLength: LIMITS.maxIdLength },
  campaign: { pattern: CAMPAIGN_ID_PATTERN, maxLength: 64 },
};

/**
 * Parses a scope that can hold data: as parseScope, and its value must be one an event
 * (or the campaign API) can produce for that kind, e.g. no space in a host id, no
 * uppercase in a campaign id. For places where every distinct scope costs memory and
 * reads, such as live channels.
 */
export function parseStrictScope(text: string): ReturnType<typeof parseScope> {
  const parsed = parseScope(text);
  if (!parsed.ok || parsed.scope.kind === 'all') return parsed;
  const { kind, value } = parsed.scope;
  const rule = VALUE_RULES[kind];
  if (characterCount(value) > rule.maxLength || !rule.pattern.test(value)) {
    return {
      ok: false,
      message: `${kind} value ${JSON.stringify(value.slice(0, 80))} cannot exist: at most ${rule.maxLength} characters matching ${rule.pattern.source}`,
    };
  }
  return parsed;
}
