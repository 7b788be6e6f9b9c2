import { CHARSETS, DIMENSION_PATTERN, characterCount, type Charset, type IntegerField, type TextField } from './fields';
import type { Limits } from './limits';
import type { FieldError, RejectReason } from './types';

/** The error of a field's value (present, not null), or null when it is good. */
export type Judge = (value: unknown, now: number) => FieldError | null;

// Character classes as charCode scans (the charsets' regexes stay the definition, the
// error text, the JSON Schema's patterns, and the judge of non-ASCII dimension values).
const CLEAN = 0;
const CONTROL = 1;
const INVALID = 2;

/** C0, DEL, C1 controls and U+2028/U+2029: what CONTROL_CHARS matches. */
function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Control characters anywhere win over a pattern mismatch, as in checkString's order. */
function scanControl(value: string): number {
  for (let i = 0; i < value.length; i++) if (isControl(value.charCodeAt(i))) return CONTROL;
  return CLEAN;
}

/** ID_PATTERN (opaque = false) or OPAQUE_ID_PATTERN (opaque = true). */
function scanId(value: string, opaque: boolean): number {
  let result = isAsciiAlnum(value.charCodeAt(0)) ? CLEAN : INVALID;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (
      isAsciiAlnum(c) ||
      c === 0x2e /* . */ ||
      c === 0x5f /* _ */ ||
      c === 0x2d /* - */ ||
      (opaque && c === 0x3a) /* : */
    )
      continue;
    if (isControl(c)) return CONTROL;
    result = INVALID;
  }
  return result;
}

/** DIMENSION_PATTERN; values with non-ASCII characters are judged by the regex itself. */
function scanDimension(value: string): number {
  let result = CLEAN;
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isAsciiAlnum(c)) continue;
    if (isControl(c)) return CONTROL;
    if (c >= 0x80) ascii = false;
    else if (i === 0 || (c !== 0x20 && c !== 0x27 /* ' */ && c !== 0x2e && c !== 0x5f && c !== 0x2d)) result = INVALID;
  }
  if (ascii || result === INVALID) return result;
  return DIMENSION_PATTERN.test(value) ? CLEAN : INVALID;
}

type Scan = (value: string) => number;
const SCANS: Record<Charset, Scan> = {
  id: (v) => scanId(v, false),
  opaqueId: (v) => scanId(v, true),
  dimension: scanDimension,
  freeText: scanControl,
};

function fieldError(field: string, reason: RejectReason, message: string): FieldError {
  return { field, reason, message };
}

export function textJudge(field: string, rule: TextField, limits: Limits): Judge {
  const maxLength = limits[rule.maxLength];
  const { pattern } = CHARSETS[rule.charset];
  const scan = SCANS[rule.charset];
  // An empty required field is as good as missing; an empty optional one is a bad value.
  const emptyReason: RejectReason = rule.optional ? 'out_of_range' : 'missing_field';
  return (value) => {
    if (typeof value !== 'string')
      return fieldError(field, 'wrong_type', `${field} must be a string, got ${describe(value)}`);
    if (value.length === 0) return fieldError(field, emptyReason, `${field} must not be empty`);
    // UTF-16 units are never fewer than characters: only a long value needs counting.
    if (value.length > maxLength) {
      const characters = characterCount(value);
      if (characters > maxLength)
        return fieldError(field, 'too_long', `${field} is ${characters} characters, at most ${maxLength} allowed`);
    }
    const verdict = scan(value);
    if (verdict === CONTROL) return fieldError(field, 'control_characters', `${field} contains control characters`);
    if (verdict === INVALID)
      return fieldError(field, 'invalid_characters', `${field} contains characters outside ${pattern!.source}`);
    return null;
  };
}

export function integerJudge(field: string, rule: IntegerField, limits: Limits): Judge {
  const min = typeof rule.min === 'number' ? rule.min : limits[rule.min];
  const fixedMax = typeof rule.max === 'string' ? limits[rule.max] : null;
  const aheadOfNow = typeof rule.max === 'string' ? 0 : limits[rule.max.aheadOfNow];
  return (value, now) => {
    if (typeof value !== 'number' || !Number.isFinite(value))
      return fieldError(field, 'wrong_type', `${field} must be a number, got ${describe(value)}`);
    if (!Number.isInteger(value)) return fieldError(field, 'not_integer', `${field} must be an integer, got ${value}`);
    const max = fixedMax ?? now + aheadOfNow;
    if (value < min || value > max)
      return fieldError(field, 'out_of_range', `${field} must be between ${min} and ${max}, got ${value}`);
    return null;
  };
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
