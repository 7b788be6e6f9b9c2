import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBodies, type ErrorBodyOf } from '@livetally/http-errors';

/**
 * The gateway's one error vocabulary. HTTP answers and WebSocket error frames use
 * the same codes so a dashboard needs only one table; `status` is the HTTP status
 * (for WebSocket-only codes it is the closest HTTP equivalent, for documentation).
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  INVALID_SCOPE: { status: 400, message: 'The scope is not valid.' },
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  NOT_READY: { status: 503, message: 'The gateway is not ready: the totals store or its change feed is unavailable.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
  // History, campaigns and SQL (src/http/).
  INVALID_RANGE: { status: 400, message: 'The time range is not valid.' },
  INVALID_CAMPAIGN: { status: 400, message: 'The campaign is invalid; details lists every bad field.' },
  CONFLICT: { status: 409, message: 'The resource already exists.' },
  // Access control (src/auth/; GATEWAY_AUTH=on) and request limits.
  UNAUTHORIZED: {
    status: 401,
    message: 'A valid bearer token is required: missing, malformed, forged, expired or signed with an unknown key.',
  },
  FORBIDDEN: {
    status: 403,
    message: "The caller's token does not allow this: it lacks the role or does not cover the scope.",
  },
  FORBIDDEN_ORIGIN: {
    status: 403,
    message: 'WebSocket upgrades are accepted from the same origin or from GATEWAY_ALLOWED_ORIGINS only.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than GATEWAY_BODY_LIMIT_BYTES allows.' },
  TOO_MANY_CONNECTIONS: {
    status: 429,
    message: 'This client address has WS_MAX_CONNECTIONS_PER_IP live connections already.',
  },
  GATEWAY_FULL: {
    status: 503,
    message:
      'This gateway has WS_MAX_CONNECTIONS live connections, or WS_MAX_SUBSCRIPTIONS_TOTAL live subscriptions, already; try again later or another gateway.',
  },
  READ_ONLY: {
    status: 400,
    message:
      "Only a single read statement over the allowed tables is accepted (judged from ClickHouse's own parse; details.refusal says which rule).",
  },
  SQL_DISABLED: {
    status: 503,
    message: 'The SQL endpoint is off: CLICKHOUSE_SQL_USER is not a read-only ClickHouse user (see the gateway log).',
  },
  SQL_ERROR: { status: 400, message: 'ClickHouse refused the query.' },
  SQL_TIMEOUT: { status: 408, message: 'The query ran longer than SQL_MAX_SECONDS allows.' },
  SQL_LIMIT: { status: 400, message: 'The query exceeded a limit (SQL_MAX_ROWS or SQL_MAX_MEMORY_BYTES).' },
  UNAVAILABLE: { status: 503, message: 'A backing store (ClickHouse or Redis) did not answer; try again shortly.' },
  // WebSocket protocol errors, answered as {"type":"error"} frames.
  INVALID_JSON: { status: 400, message: 'The frame is not valid JSON.' },
  BAD_FRAME: { status: 400, message: 'A frame must be a JSON text object with a string "type".' },
  UNKNOWN_TYPE: { status: 400, message: 'Unknown message type; expected subscribe, unsubscribe or ping.' },
  INVALID_CHANNEL: {
    status: 400,
    message:
      'The channel is not valid; expected totals:, windows: or series:<scope>, or rankings:<all|campaign:<id>>:<dimension>:<measure>, whose scope value has only the characters and length its kind allows.',
  },
  TOO_MANY_SUBSCRIPTIONS: {
    status: 429,
    message:
      'Too many subscriptions: this connection has WS_MAX_SUBSCRIPTIONS, or this token has WS_MAX_SUBSCRIPTIONS_PER_TOKEN over all its connections to every gateway; unsubscribe first.',
  },
  FRAME_TOO_LARGE: { status: 413, message: 'The frame is larger than the gateway accepts.' },
  RATE_LIMITED: {
    status: 429,
    message:
      'Too many requests: over GATEWAY_RATE_LIMIT_PER_MINUTE (GATEWAY_SQL_RATE_LIMIT_PER_MINUTE for POST /v1/sql) per token subject, or per client address without a valid token; retry after Retry-After seconds. ' +
      'On /v1/live: over WS_FRAME_RATE frames per second (bursts of WS_FRAME_BURST); the frame was dropped, and persistent floods are closed with 1008.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** `details` is present only where a code documents it (INVALID_CAMPAIGN: the bad fields; SQL_*: ClickHouse's code). */
export type ErrorBody = ErrorBodyOf<typeof ERROR_CATALOGUE>;

/** An error the gateway raises on purpose; `detail` replaces the generic message. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly details?: unknown,
  ) {
    super(detail ?? ERROR_CATALOGUE[code].message);
    this.name = 'GatewayError';
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** The body of every error answer (the shape all LiveTally HTTP services share). */
export const errorBody = errorBodies(ERROR_CATALOGUE);

/**
 * Fastify error handler: known errors keep their code and message; fastify's own 4xx
 * errors (bad content type, malformed URL…) become BAD_REQUEST with their status;
 * anything else is logged and answered as INTERNAL without leaking its details.
 */
export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof GatewayError) return reply.code(err.status).send(errorBody(err.code, err.message, err.details));
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code: ErrorCode = status === 404 ? 'NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
    return reply.code(status).send(errorBody(code, err.message));
  }
  request.log.error({ err }, 'request failed');
  return reply.code(500).send(errorBody('INTERNAL'));
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`));
}
