import { CAMPAIGN_ID_PATTERN as ID } from '@livetally/events';
import type { Campaign, CampaignFilters, CampaignTargets } from './campaign';

/** What an API client may send to create or replace a campaign. */
export interface CampaignInput {
  id: string;
  name: string;
  startsAt: string | number;
  endsAt: string | number;
  timeZone?: string;
  filters?: CampaignFilters;
  targets?: CampaignTargets;
}

const DIMENSION = /^[\p{L}\p{N}][\p{L}\p{N} '._-]{0,63}$/u;
const FILTER_KEYS = ['cities', 'districts', 'categories', 'platforms'] as const;
const TARGET_KEYS = ['gmvFen', 'views', 'sessions', 'hosts'] as const;

export type CampaignValidation =
  | { ok: true; value: Omit<Campaign, 'status' | 'createdAt' | 'updatedAt' | 'version'> }
  | { ok: false; errors: { field: string; message: string }[] };

function toMillis(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Validates a create/replace body; ISO-8601 timestamps must carry an offset or Z. */
export function validateCampaignInput(input: unknown): CampaignValidation {
  const errors: { field: string; message: string }[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: [{ field: '$', message: 'body must be a JSON object' }] };
  const o = input as Record<string, unknown>;
  if (typeof o.id !== 'string' || !ID.test(o.id))
    errors.push({
      field: 'id',
      message: 'id must be 1-64 characters of a-z, 0-9 and -, starting with a letter or digit',
    });
  if (typeof o.name !== 'string' || o.name.trim().length === 0 || o.name.length > 200 || /[\u0000-\u001f]/.test(o.name))
    errors.push({ field: 'name', message: 'name must be 1-200 printable characters' });
  const startsAt = toMillis(o.startsAt);
  const endsAt = toMillis(o.endsAt);
  const hasOffset = (v: unknown) => typeof v !== 'string' || /(Z|[+-]\d{2}:?\d{2})$/.test(v);
  if (startsAt === undefined || !hasOffset(o.startsAt))
    errors.push({ field: 'startsAt', message: 'startsAt must be ms since epoch or ISO-8601 with a zone offset' });
  if (endsAt === undefined || !hasOffset(o.endsAt))
    errors.push({ field: 'endsAt', message: 'endsAt must be ms since epoch or ISO-8601 with a zone offset' });
  if (startsAt !== undefined && endsAt !== undefined && endsAt <= startsAt)
    errors.push({ field: 'endsAt', message: 'endsAt must be after startsAt' });
  // History answers from per-minute rollups, so windows are whole minutes.
  if (startsAt !== undefined && startsAt % 60_000 !== 0)
    errors.push({ field: 'startsAt', message: 'startsAt must be on a whole minute' });
  if (endsAt !== undefined && endsAt % 60_000 !== 0)
    errors.push({ field: 'endsAt', message: 'endsAt must be on a whole minute' });
  const timeZone = o.timeZone ?? 'Asia/Shanghai';
  if (typeof timeZone !== 'string' || !validTimeZone(timeZone))
    errors.push({ field: 'timeZone', message: 'timeZone must be an IANA time zone such as Asia/Shanghai' });
  const filters: CampaignFilters = {};
  if (o.filters !== undefined) {
    if (typeof o.filters !== 'object' || o.filters === null)
      errors.push({ field: 'filters', message: 'filters must be an object' });
    else {
      for (const [k, v] of Object.entries(o.filters)) {
        if (!(FILTER_KEYS as readonly string[]).includes(k))
          errors.push({ field: `filters.${k}`, message: `unknown filter; use ${FILTER_KEYS.join(', ')}` });
        else if (!Array.isArray(v) || v.length > 100 || !v.every((x) => typeof x === 'string' && DIMENSION.test(x)))
          errors.push({ field: `filters.${k}`, message: 'must be a list of up to 100 names' });
        else filters[k as keyof CampaignFilters] = [...new Set(v as string[])];
      }
    }
  }
  const targets: CampaignTargets = {};
  if (o.targets !== undefined) {
    if (typeof o.targets !== 'object' || o.targets === null)
      errors.push({ field: 'targets', message: 'targets must be an object' });
    else {
      for (const [k, v] of Object.entries(o.targets)) {
        if (!(TARGET_KEYS as readonly string[]).includes(k))
          errors.push({ field: `targets.${k}`, message: `unknown target; use ${TARGET_KEYS.join(', ')}` });
        else if (!Number.isSafeInteger(v) || (v as number) <= 0)
          errors.push({ field: `targets.${k}`, message: 'must be a positive integer' });
        else targets[k as keyof CampaignTargets] = v as number;
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      id: o.id as string,
      name: (o.name as string).trim(),
      startsAt: startsAt!,
      endsAt: endsAt!,
      timeZone: timeZone as string,
      filters,
      targets,
    },
  };
}
