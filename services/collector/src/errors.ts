import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBodies, notFoundHandler, type ErrorBodyOf, type ErrorCatalogue } from '@livetally/http-errors';
import catalogue from './errors.json' with { type: 'json' };

/**
 * The collector's one error vocabulary; every non-2xx answer is
 * `{ "error": { "code", "message", "details"? } }` (the body every LiveTally HTTP
 * service answers with) with the status listed in errors.json.
 */
export const ERROR_CATALOGUE = catalogue satisfies ErrorCatalogue;

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

export const handleNotFound = notFoundHandler(errorBody);
