import type { FastifyInstance } from 'fastify';
import type { Granularity, HistoryMeasures, RankDimension, RankMeasure } from '@livetally/history';
import { GatewayError } from '../errors';
import { iso, parseRange, subjectFromScope, validTimeZone } from './params';
import {
  dimensionSchema,
  errorResponses,
  granularitySchema,
  instantSchema,
  measureSchema,
  measuresSchema,
  ranked,
  scopeQuerySchema,
  seriesAnswer,
  topAnswer,
  topQuery,
} from './schemas';
import type { HistoryReader } from './types';
import { callStore } from './unavailable';

interface RangeQuery {
  from: string;
  to: string;
  scope?: string;
}

const range = { from: instantSchema('Inclusive start'), to: instantSchema('Exclusive end') };
const rangeEcho = {
  scope: { type: 'string' },
  from: { type: 'string', description: 'ISO-8601 (UTC)' },
  to: { type: 'string', description: 'ISO-8601 (UTC)' },
};
const tags = ['history'];
const errors = errorResponses('BAD_REQUEST', 'INVALID_RANGE', 'INVALID_SCOPE', 'UNAVAILABLE');

/** GET /v1/history/*: figures from the per-minute rollups (never raw events). */
export function registerHistoryRoutes(app: FastifyInstance, history: HistoryReader | undefined): void {
  const reader = (): HistoryReader => history ?? unconfigured();
  registerTotals(app, reader);
  registerSeries(app, reader);
  registerTop(app, reader);
  registerRank(app, reader);
}

/** GET /v1/history/totals: measures summed over a range. */
function registerTotals(app: FastifyInstance, reader: () => HistoryReader): void {
  app.get<{ Querystring: RangeQuery }>(
    '/v1/history/totals',
    {
      schema: {
        summary: 'Totals over a time range',
        tags,
        querystring: { type: 'object', required: ['from', 'to'], properties: { scope: scopeQuerySchema, ...range } },
        response: {
          200: {
            type: 'object',
            required: ['scope', 'from', 'to', 'totals'],
            properties: { ...rangeEcho, totals: measuresSchema },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const subject = subjectFromScope(request.query.scope);
      const { from, to } = parseRange(request.query);
      const totals = await callStore(request, 'history', () => reader().totals(subject, from, to));
      return { scope: request.query.scope ?? 'all', from: iso(from), to: iso(to), totals };
    },
  );
}

/** GET /v1/history/series: buckets at a granularity in a time zone. */
function registerSeries(app: FastifyInstance, reader: () => HistoryReader): void {
  app.get<{ Querystring: RangeQuery & { granularity: Granularity; tz: string } }>(
    '/v1/history/series',
    {
      schema: {
        summary: 'A time series at minute, hour or day granularity',
        description: 'Buckets are aligned in tz; empty buckets are omitted.',
        tags,
        querystring: {
          type: 'object',
          required: ['from', 'to', 'granularity'],
          properties: {
            scope: scopeQuerySchema,
            ...range,
            granularity: granularitySchema,
            tz: { type: 'string', default: 'Asia/Shanghai', description: 'IANA time zone' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['scope', 'from', 'to', 'granularity', 'tz', 'buckets'],
            properties: {
              ...rangeEcho,
              ...seriesAnswer,
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const { granularity, tz } = request.query;
      const subject = subjectFromScope(request.query.scope);
      const { from, to } = parseRange(request.query, granularity);
      if (!validTimeZone(tz))
        throw new GatewayError(
          'BAD_REQUEST',
          `tz must be an IANA time zone such as Asia/Shanghai, got ${JSON.stringify(tz.slice(0, 64))}`,
        );
      const buckets: (HistoryMeasures & { bucket: string })[] = await callStore(request, 'history', () =>
        reader().series(subject, from, to, granularity, tz),
      );
      return { scope: request.query.scope ?? 'all', from: iso(from), to: iso(to), granularity, tz, buckets };
    },
  );
}

/** GET /v1/history/top: the first members of a dimension by a measure. */
function registerTop(app: FastifyInstance, reader: () => HistoryReader): void {
  app.get<{ Querystring: RangeQuery & { dimension: RankDimension; measure: RankMeasure; limit: number } }>(
    '/v1/history/top',
    {
      schema: {
        summary: 'Top-N members of a dimension by a measure',
        tags,
        querystring: {
          type: 'object',
          required: ['dimension', 'from', 'to'],
          properties: { ...topQuery, ...range, scope: scopeQuerySchema },
        },
        response: {
          200: {
            type: 'object',
            required: ['dimension', 'measure', 'from', 'to', 'items'],
            properties: {
              ...rangeEcho,
              ...topAnswer,
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const { dimension, measure, limit } = request.query;
      const subject = subjectFromScope(request.query.scope);
      const { from, to } = parseRange(request.query);
      const top = await callStore(request, 'history', () => reader().top(dimension, measure, from, to, limit, subject));
      return {
        scope: request.query.scope ?? 'all',
        dimension,
        measure,
        from: iso(from),
        to: iso(to),
        items: ranked(top),
      };
    },
  );
}

/** GET /v1/history/rank: one member's rank in a dimension. */
function registerRank(app: FastifyInstance, reader: () => HistoryReader): void {
  app.get<{ Querystring: { dimension: RankDimension; name: string; measure: RankMeasure; from: string; to: string } }>(
    '/v1/history/rank',
    {
      schema: {
        summary: 'Rank of one member of a dimension (e.g. a city) by a measure',
        description:
          'Standard competition ranking (ties share a rank). rank and of are null when the member has no rollup rows in the range.',
        tags,
        querystring: {
          type: 'object',
          required: ['dimension', 'name', 'from', 'to'],
          properties: {
            dimension: dimensionSchema,
            name: { type: 'string', minLength: 1, maxLength: 128 },
            measure: { ...measureSchema, default: 'gmv' },
            ...range,
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['dimension', 'name', 'measure', 'from', 'to', 'rank', 'of', 'value'],
            properties: {
              dimension: { type: 'string' },
              name: { type: 'string' },
              measure: { type: 'string' },
              from: rangeEcho.from,
              to: rangeEcho.to,
              rank: { type: 'integer', nullable: true, description: '1-based' },
              of: { type: 'integer', nullable: true, description: 'Members ranked' },
              value: { type: 'integer' },
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const { dimension, name, measure } = request.query;
      const { from, to } = parseRange(request.query);
      const r = await callStore(request, 'history', () => reader().rankOf(dimension, name, measure, from, to));
      return {
        dimension,
        name,
        measure,
        from: iso(from),
        to: iso(to),
        rank: r?.rank ?? null,
        of: r?.of ?? null,
        value: r?.value ?? 0,
      };
    },
  );
}

function unconfigured(): never {
  throw new GatewayError('UNAVAILABLE', 'history is not configured on this gateway');
}
