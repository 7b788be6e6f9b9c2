import type { FastifySchema } from 'fastify';
import type { DocumentedRoute, OpenApiOptions } from '@livetally/api-docs';
import { ruleFor, rolesFor, type PolicyOptions } from '../auth/policy';
import { limitGroupOf } from './rate-limit';
import { errorResponses, errorSchema } from './schemas';

/** How the gateway runs, as far as the document tells it: what is open, what is limited. */
export interface GatewayDocsPolicy extends PolicyOptions {
  rateLimited: boolean;
}

/** The 429 every rate-limited route may answer (see rate-limit.ts). */
const RATE_LIMITED_RESPONSE = {
  ...errorSchema(['RATE_LIMITED']),
  description:
    'Too Many Requests: over GATEWAY_RATE_LIMIT_PER_MINUTE, or GATEWAY_SQL_RATE_LIMIT_PER_MINUTE for POST /v1/sql, per token subject (per client address without a valid token), in one-minute windows shared by every gateway instance.',
  headers: {
    'Retry-After': { description: 'Seconds until the window ends', type: 'integer' },
    'X-RateLimit-Limit': { description: 'Requests allowed per window (on every limited answer)', type: 'integer' },
    'X-RateLimit-Remaining': { description: 'Requests left in this window', type: 'integer' },
    'X-RateLimit-Reset': { description: 'Seconds until the window ends', type: 'integer' },
  },
};

/** The answers of access control (GATEWAY_AUTH=on) on every route that is not open. */
const REFUSALS = errorResponses('UNAUTHORIZED', 'FORBIDDEN');

/**
 * The gateway's OpenAPI document: the route schemas, plus what access control and the
 * request limits add to them, taken from the same tables the gateway enforces (the access
 * policy's rules and roles, the rate limit's groups).
 */
export function gatewayOpenApi(policy: GatewayDocsPolicy): OpenApiOptions {
  return {
    title: 'LiveTally gateway',
    version: '0.1.0',
    description:
      'Live and historical livestream e-commerce figures. Money is integer fen. Errors are { "error": { "code", "message", "details"? } }. ' +
      'The WebSocket protocol of /v1/live is described in AsyncAPI 3 at GET /asyncapi.json. ' +
      'Security: required when the gateway runs with GATEWAY_AUTH=on; operations marked security: [] are always open.',
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'LiveTally token: base64url(JSON payload).base64url(HMAC-SHA256); mint with npm run token',
      },
    },
    document: (route) => documentRoute(route, policy),
  };
}

function documentRoute({ method, url, schema }: DocumentedRoute, policy: GatewayDocsPolicy): FastifySchema {
  const responses: Record<string, unknown> = { ...(schema.response as object | undefined) };
  const extra: FastifySchema = {};
  if (ruleFor(method, url, policy)?.open) extra.security = [];
  else {
    extra.security = [{ bearerAuth: [] }];
    const roles = rolesFor(method, url);
    if (roles && schema['x-required-role'] === undefined) extra['x-required-role'] = roles.join(' or ');
    for (const [status, refusal] of Object.entries(REFUSALS)) responses[status] ??= refusal;
  }
  if (policy.rateLimited && limitGroupOf(method, url)) responses['429'] ??= RATE_LIMITED_RESPONSE;
  return { ...schema, ...extra, response: responses };
}
