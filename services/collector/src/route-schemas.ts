import type { FastifySchema } from 'fastify';
import { EVENT_SCHEMA_ID, EVENT_TYPES } from '@livetally/events';
import { errorSchemas } from '@livetally/http-errors';
import { ERROR_CATALOGUE } from './errors';

/**
 * Schemas of the collector's routes (routes.ts). fastify serializes the answers with them
 * and GET /openapi.json publishes them; they stay in the subset OpenAPI 3.0 and ajv both
 * understand (no `const`, no type arrays; `nullable` for null).
 */
const { errorSchema, errorResponses } = errorSchemas(ERROR_CATALOGUE);

/** Where the collector serves the event schema (JSON Schema 2020-12, eventJsonSchema). */
export const EVENT_SCHEMA_PATH = '/v1/schema/event.json';
export const EVENT_SCHEMA_MEDIA_TYPE = 'application/schema+json';

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before resending', type: 'integer' } };

const eventResult = {
  type: 'object',
  required: ['index', 'eventId', 'status'],
  properties: {
    index: { type: 'integer', description: "The event's position in the request" },
    eventId: { type: 'string', nullable: true, description: 'The eventId it sent, when usable' },
    status: { type: 'string', enum: ['accepted', 'duplicate_in_batch', 'rejected'] },
    errors: {
      type: 'array',
      description: 'Why it was rejected: every bad field',
      items: {
        type: 'object',
        required: ['field', 'reason', 'message'],
        properties: {
          field: { type: 'string', description: 'JSON path of the field ($ for the whole event)' },
          reason: { type: 'string', description: 'A reject reason (docs/platform-onboarding.md lists them)' },
          message: { type: 'string' },
        },
      },
    },
  },
};

const ingestResponse = (description: string) => ({
  description,
  type: 'object',
  required: ['accepted', 'duplicates', 'rejected', 'results'],
  properties: {
    accepted: { type: 'integer' },
    duplicates: { type: 'integer', description: 'Later copies of an accepted platform+eventId in this request' },
    rejected: { type: 'integer' },
    results: { type: 'array', description: 'One per event, in request order', items: eventResult },
  },
});

const event = {
  type: 'object',
  description: `A live event (${EVENT_TYPES.join(', ')}); its JSON Schema is GET ${EVENT_SCHEMA_PATH}, its fields are in docs/platform-onboarding.md. Each event is validated on its own: a bad one is rejected alone.`,
  additionalProperties: true,
};

/**
 * The body of POST /v1/events as the document shows it. fastify does not validate it: the
 * route reads it itself (extractEvents) and validates each event on its own (classifyBatch),
 * so that one bad event is rejected alone (207) instead of failing the whole request.
 */
export const EVENTS_BODY_SCHEMA = {
  description: 'A batch of 1..COLLECTOR_MAX_BATCH_EVENTS events, as JSON (UTF-8), gzip allowed (Content-Encoding).',
  anyOf: [
    { type: 'object', required: ['events'], properties: { events: { type: 'array', items: event } } },
    { type: 'array', items: event },
  ],
};

export const EVENTS_SCHEMA: FastifySchema = {
  summary: 'Send a batch of live events',
  tags: ['events'],
  description:
    'Each event is validated and stored (to Kafka) on its own; eventIds make resends safe (counted once). 200 when every event was accepted or a duplicate, 207 when any was rejected.',
  security: [{ apiKeyBearer: [] }, { apiKeyHeader: [] }],
  response: {
    200: ingestResponse('Every event accepted (or a duplicate within the request)'),
    207: ingestResponse('Some events rejected: see results[].errors; the others were stored'),
    ...errorResponses(
      'INVALID_JSON',
      'INVALID_BODY',
      'BAD_REQUEST',
      'UNAUTHORIZED',
      'FORBIDDEN_PLATFORM',
      'PAYLOAD_TOO_LARGE',
      'TOO_MANY_EVENTS',
      'TOO_LARGE_FOR_KAFKA',
      'UNSUPPORTED_MEDIA_TYPE',
      'INTERNAL',
    ),
    429: { ...errorSchema(['RATE_LIMITED']), headers: retryAfter },
    503: { ...errorSchema(['KAFKA_UNAVAILABLE', 'NOT_READY']), headers: retryAfter },
  },
};

export const EVENT_JSON_SCHEMA_SCHEMA: FastifySchema = {
  summary: 'The event schema, as JSON Schema (draft 2020-12)',
  tags: ['events'],
  description:
    'What POST /v1/events checks each event against, generated from the same definition as the validator (docs/event.schema.json holds the same document). Its description names the checks JSON Schema cannot express: ts against the receiver’s clock, the encoded size.',
  security: [],
  response: {
    200: {
      description: `A JSON Schema 2020-12 document ($id ${EVENT_SCHEMA_ID})`,
      content: { [EVENT_SCHEMA_MEDIA_TYPE]: { schema: { type: 'object', additionalProperties: true } } },
    },
  },
};

export const HEALTHZ_SCHEMA: FastifySchema = {
  summary: 'Liveness: 200 while the process is up',
  tags: ['operations'],
  security: [],
  response: {
    200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } },
  },
};

export const READYZ_SCHEMA: FastifySchema = {
  summary: 'Readiness: 200 while events can be stored (Kafka connected, not shutting down)',
  tags: ['operations'],
  security: [],
  response: {
    200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ready'] } } },
    503: { ...errorSchema(['NOT_READY']), headers: retryAfter },
  },
};
