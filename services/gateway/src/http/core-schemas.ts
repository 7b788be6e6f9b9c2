import type { FastifySchema } from 'fastify';
import { TOTAL_FIELDS } from '@livetally/live-state';
import { errorResponses } from './schemas';

/** Schemas of the routes in ../routes.ts, kept here so that file stays about behaviour. */
const totals = {
  type: 'object',
  description: 'Exact integers; money in fen.',
  required: [...TOTAL_FIELDS],
  properties: Object.fromEntries(TOTAL_FIELDS.map((f) => [f, { type: 'integer' }])),
};

export const CORE_SCHEMAS: Record<'totals' | 'healthz' | 'readyz' | 'metrics' | 'dashboard', FastifySchema> = {
  totals: {
    summary: 'Current live totals of a scope (from Redis)',
    tags: ['live'],
    params: {
      type: 'object',
      required: ['scope'],
      properties: {
        scope: {
          type: 'string',
          description:
            'all, city:<name>, district:<name>, category:<name>, platform:<name>, host:<id>, stream:<id> or campaign:<id>; URL-encoded (district:Bao%27an)',
        },
      },
    },
    response: {
      200: {
        type: 'object',
        required: ['scope', 'totals', 'asOf'],
        properties: { scope: { type: 'string' }, totals, asOf: { type: 'string', description: 'ISO-8601' } },
      },
      ...errorResponses('INVALID_SCOPE', 'NOT_READY'),
    },
  },
  healthz: {
    summary: 'Liveness: 200 while the process is up',
    tags: ['operations'],
    response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } },
  },
  readyz: {
    summary: 'Readiness: 200 once Redis answers and the change subscription is live',
    tags: ['operations'],
    response: {
      200: { type: 'object', properties: { status: { type: 'string', enum: ['ready'] } } },
      ...errorResponses('NOT_READY'),
    },
  },
  metrics: {
    summary: 'Prometheus metrics',
    tags: ['operations'],
    response: {
      200: {
        description: 'Prometheus text exposition format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  },
  dashboard: {
    summary: 'The operations dashboard page',
    tags: ['operations'],
    response: {
      200: { description: 'Self-contained HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
    },
  },
};
