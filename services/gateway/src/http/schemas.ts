import { MEASURES } from '@livetally/events';
import { RANK_DIMENSIONS, RANK_MEASURES } from '@livetally/history';
import { errorSchemas } from '@livetally/http-errors';
import { ERROR_CATALOGUE } from '../errors';

/**
 * JSON schemas shared by the routes. They validate requests, serialize responses and
 * are what GET /openapi.json publishes, so they stay in the subset OpenAPI 3.0 and
 * ajv both understand (no `const`, no type arrays; `nullable` for null).
 */
const int = (description?: string) => ({ type: 'integer', ...(description ? { description } : {}) });
const str = (description?: string) => ({ type: 'string', ...(description ? { description } : {}) });

/** The shared error body ({ error: { code, message, details? } }) with the codes a route answers. */
export const { errorSchema, errorResponses } = errorSchemas(ERROR_CATALOGUE);

export const instantSchema = (what: string) =>
  str(`${what}: ms since epoch or ISO-8601 with a zone offset (2024-08-23T00:00:00+08:00); on a whole minute`);
export const scopeQuerySchema = str(
  'all, city:<name>, district:<name>, category:<name>, platform:<name> or host:<id> (default all); stream: and campaign: are not in the rollups',
);

const MEASURE_FIELDS = [...MEASURES, 'netSalesFen', 'uniqueViewers', 'activeHosts'] as const;
export const measuresSchema = {
  type: 'object',
  description:
    'Exact sums (money in integer fen); uniqueViewers is an estimate (ClickHouse uniq, within ~2%); activeHosts is exact.',
  required: [...MEASURE_FIELDS],
  properties: Object.fromEntries(MEASURE_FIELDS.map((f) => [f, int()])),
};

export const bucketSchema = {
  ...measuresSchema,
  required: ['bucket', ...MEASURE_FIELDS],
  properties: {
    bucket: str('Bucket start in local time of tz, without offset (2024-08-23T05:00:00)'),
    ...measuresSchema.properties,
  },
};

export const dimensionSchema = { type: 'string', enum: [...RANK_DIMENSIONS] };
export const measureSchema = { type: 'string', enum: [...RANK_MEASURES], description: 'gmv = sales in fen' };
export const limitSchema = { type: 'integer', minimum: 1, maximum: 100, default: 10 };
export const rankedItem = {
  type: 'object',
  required: ['rank', 'name', 'value'],
  properties: { rank: { type: 'integer' }, name: { type: 'string' }, value: { type: 'integer' } },
};
export const granularitySchema = {
  type: 'string',
  enum: ['minute', 'hour', 'day'],
  description: 'minute ranges are capped at 7 days, hour at 400 days',
};

// A ranking and a series read alike whatever they cover (a scope's range or a campaign's window).
/** Query properties of a top-N ranking. */
export const topQuery = {
  dimension: dimensionSchema,
  measure: { ...measureSchema, default: 'gmv' },
  limit: limitSchema,
};
/** Answer properties of a top-N ranking, besides what it covers. */
export const topAnswer = {
  dimension: { type: 'string' },
  measure: { type: 'string' },
  items: { type: 'array', items: rankedItem },
};
/** The members of a ranking, best first, numbered from 1. */
export const ranked = <T extends { name: string; value: number }>(top: readonly T[]) =>
  top.map((t, i) => ({ rank: i + 1, ...t }));
/** Answer properties of a time series, besides what it covers. */
export const seriesAnswer = {
  granularity: { type: 'string' },
  tz: { type: 'string' },
  buckets: { type: 'array', items: bucketSchema },
};

const list = (description: string) => ({ type: 'array', items: { type: 'string' }, maxItems: 100, description });
const filtersSchema = {
  type: 'object',
  description: 'Every listed dimension must match; an absent or empty list matches all.',
  properties: {
    cities: list('City names'),
    districts: list('District names'),
    categories: list('Category names'),
    platforms: list('Platform names'),
  },
};
const targetsSchema = {
  type: 'object',
  description: 'Positive integer goals; gmvFen is compared with salesFen, hosts with activeHosts.',
  properties: { gmvFen: int(), views: int(), sessions: int(), hosts: int() },
};
const timeSchema = { description: 'ms since epoch or ISO-8601 with a zone offset, on a whole minute' };

export const campaignInputSchema = {
  type: 'object',
  description:
    'Validated by the campaign service, which reports every bad field at once (400 INVALID_CAMPAIGN, details: [{field, message}]).',
  required: ['id', 'name', 'startsAt', 'endsAt'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    startsAt: { ...timeSchema, description: `Inclusive start: ${timeSchema.description}` },
    endsAt: { ...timeSchema, description: `Exclusive end: ${timeSchema.description}` },
    timeZone: str('IANA zone for day boundaries (default Asia/Shanghai)'),
    filters: filtersSchema,
    targets: targetsSchema,
  },
};

export const campaignSchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'startsAt',
    'endsAt',
    'timeZone',
    'filters',
    'targets',
    'status',
    'createdAt',
    'updatedAt',
    'version',
  ],
  properties: {
    id: str(),
    name: str(),
    startsAt: int('Inclusive start, ms since epoch'),
    endsAt: int('Exclusive end, ms since epoch'),
    timeZone: str(),
    filters: filtersSchema,
    targets: targetsSchema,
    status: { type: 'string', enum: ['active', 'ended'] },
    createdAt: int(),
    updatedAt: int(),
    version: int('Bumped by every change'),
  },
};

export const campaignIdParams = { type: 'object', required: ['id'], properties: { id: str('Campaign id') } };
