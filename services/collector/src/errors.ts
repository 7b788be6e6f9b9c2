import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBodies, type ErrorBodyOf } from '@livetally/http-errors';

/**
 * The collector's one error vocabulary; every non-2xx answer is
 * `{ "error": { "code", "message", "details"? } }` (the body every LiveTally HTTP
 * service answers with) with the status listed here.
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  INVALID_JSON: { status: 400, message: 'The body is not valid UTF-8 JSON.' },
  INVALID_BODY: { status: 400, message: 'The body must be {"events":[…]} or a JSON array with at least one event.' },
  UNAUTHORIZED: {
    status: 401,
    message: 'A valid API key is required (Authorization: Bearer <key>, or X-API-Key: <key>).',
  },
  FORBIDDEN_PLATFORM: {
    status: 403,
    message:
      "An API key may only send events whose platform is the key's own platform; nothing in this request was stored.",
  },
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The body is larger than the collector accepts.' },
  TOO_MANY_EVENTS: { status: 413, message: 'The batch holds more events than the collector accepts.' },
  TOO_LARGE_FOR_KAFKA: {
    status: 413,
    message:
      "Kafka refused this request's events as too large for one write: a partition's share of the request passed the topic's max.message.bytes (all events of one stream share a partition; error.details.largestStream names the largest). Some events of this request may be stored. Resend the same events (same eventIds) in smaller requests, with fewer events of any one stream in each; resends are counted once.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Send Content-Type: application/json (UTF-8), optionally with Content-Encoding: gzip.',
  },
  RATE_LIMITED: {
    status: 429,
    message:
      'This platform is over its event rate limit; nothing in this request was stored. Retry after Retry-After seconds.',
  },
  KAFKA_UNAVAILABLE: {
    status: 503,
    message:
      'Kafka did not acknowledge the events: none, some or all may have been stored. Resend the same events (same eventIds) after Retry-After seconds; resends are counted once.',
  },
  NOT_READY: { status: 503, message: 'The collector is not ready (starting or shutting down).' },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export type ErrorBody = ErrorBodyOf<typeof ERROR_CATALOGUE>;

export interface ErrorExtras {
  /** Sets Retry-After (429, 503). */
  retryAfterSeconds?: number;
  /** `error.details`, e.g. the indexes of the offending events. */
  details?: Record<string, unknown>;
}

/** An error the collector raises on purpose; `detail` replaces the generic message. */
export class CollectorError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly extras: ErrorExtras = {},
  ) {
    super(detail ?? ERROR_CATALOGUE[code].message);
    this.name = 'CollectorError';
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** The body of every error answer (the shape all LiveTally HTTP services share). */
export const errorBody = errorBodies(ERROR_CATALOGUE);

/** Retry-After is whole seconds; never 0, which some clients read as "hammer now". */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

// fastify's own errors that have a catalogue code of their own.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * Fastify error handler: known errors keep their code, message and headers; fastify's
 * own 4xx errors map onto the catalogue; anything else is logged and answered as
 * INTERNAL without leaking its details.
 */
export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof CollectorError) {
    if (err.extras.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.extras.retryAfterSeconds));
    if (err.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="livetally"');
    return reply.code(err.status).send(errorBody(err.code, err.message, err.extras.details));
  }
  const fastifyCode = FASTIFY_CODES[(err as FastifyError).code ?? ''];
  if (fastifyCode) return reply.code(ERROR_CATALOGUE[fastifyCode].status).send(errorBody(fastifyCode));
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return reply.code(status).send(errorBody(status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', err.message));
  }
  if (status === 503) return reply.code(503).header('retry-after', '1').send(errorBody('NOT_READY'));
  request.log.error({ err }, 'request failed');
  return reply.code(500).send(errorBody('INTERNAL'));
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`));
}
