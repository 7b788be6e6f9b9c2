import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBodies, notFoundHandler, type ErrorBodyOf, type ErrorCatalogue } from '@livetally/http-errors';
import catalogue from './errors.json' with { type: 'json' };

/**
 * The gateway's one error vocabulary. HTTP answers and WebSocket error frames use
 * the same codes so a dashboard needs only one table; `status` is the HTTP status
 * (for WebSocket-only codes it is the closest HTTP equivalent, for documentation).
 * The codes are data (errors.json), in groups: general; history, campaigns and SQL
 * (src/http/) from INVALID_RANGE; access control (src/auth/; GATEWAY_AUTH=on) and
 * request limits from UNAUTHORIZED; WebSocket protocol errors, answered as
 * {"type":"error"} frames, from INVALID_JSON.
 */
export const ERROR_CATALOGUE = catalogue satisfies ErrorCatalogue;

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

export const handleNotFound = notFoundHandler(errorBody);
