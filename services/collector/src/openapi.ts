import type { OpenApiOptions } from '@livetally/api-docs';
import { EVENTS_BODY_SCHEMA } from './route-schemas';

/** The collector's OpenAPI document (GET /openapi.json, Swagger UI at /docs), from its route schemas. */
export const COLLECTOR_OPENAPI: OpenApiOptions = {
  title: 'LiveTally collector',
  version: '0.1.0',
  description:
    'Where platforms send their live events over HTTP. Errors are { "error": { "code", "message", "details"? } }. ' +
    'Onboarding, every event field and every reject reason: docs/platform-onboarding.md.',
  securitySchemes: {
    apiKeyBearer: { type: 'http', scheme: 'bearer', description: "The platform's API key (COLLECTOR_API_KEYS)" },
    apiKeyHeader: {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
      description: 'The same key, for clients without Authorization',
    },
  },
  // The body is documented, not validated by fastify: see EVENTS_BODY_SCHEMA.
  document: ({ method, url, schema }) =>
    method === 'POST' && url === '/v1/events' ? { ...schema, body: EVENTS_BODY_SCHEMA } : schema,
};
