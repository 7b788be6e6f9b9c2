/**
 * The one error body every LiveTally HTTP service answers with (gateway, collector,
 * ingest ops server): `{ "error": { "code", "message", "details"? } }`. Each service
 * keeps its own catalogue of codes; only the shape is shared, so a client reads any
 * service's errors the same way.
 */
export interface ErrorBody<Code extends string = string> {
  /** `details` is present only where a code documents it (e.g. the bad fields, the offending indexes). */
  error: { code: Code; message: string; details?: unknown };
}

/** A service's codes: the HTTP status each is answered with and its generic message. */
export type ErrorCatalogue = Record<string, { status: number; message: string }>;

export type ErrorBodyOf<C extends ErrorCatalogue> = ErrorBody<keyof C & string>;

/**
 * The body builder of one catalogue: the code's own message unless `message` replaces
 * it, and `details` only when given.
 */
export function errorBodies<C extends ErrorCatalogue>(catalogue: C) {
  return (code: keyof C & string, message: string = catalogue[code]!.message, details?: unknown): ErrorBodyOf<C> =>
    details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/**
 * The handler for requests no route matches, for a service whose catalogue has NOT_FOUND:
 * 404 naming the method and the path (not the query string, which may carry secrets).
 * Typed by what it uses of the request and reply, so any framework's (fastify's) fit.
 */
export function notFoundHandler(errorBody: (code: 'NOT_FOUND', message: string) => ErrorBody) {
  return <R>(
    request: { method: string; url: string },
    reply: { code(status: number): { send(body: ErrorBody): R } },
  ): R => reply.code(404).send(errorBody('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`));
}

/**
 * The error body as JSON Schema (the subset fastify's ajv and OpenAPI 3.0 both take), so
 * route schemas document it, fastify serializes it and contract tests check answers against it.
 */
export function errorSchemas<C extends ErrorCatalogue>(catalogue: C) {
  type Code = keyof C & string;
  /** The body of answers carrying one of `codes`; the description lists each code's meaning. */
  const errorSchema = (codes: readonly Code[]) => ({
    description: codes.map((c) => `${c}: ${catalogue[c]!.message}`).join(' '),
    ...bodySchema({ type: 'string', enum: [...codes] }),
  });
  /** Error responses by status, built from the codes a route can answer with. */
  const errorResponses = (...codes: Code[]): Record<number, object> => {
    const byStatus = new Map<number, Code[]>();
    for (const code of codes) {
      const status = catalogue[code]!.status;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorSchema(list)]));
  };
  return { errorSchema, errorResponses };
}

/** Any error answer, whatever its code: what a route may answer besides its listed statuses. */
export const ANY_ERROR_SCHEMA = {
  description: 'Any other error (such as 500 INTERNAL), in the shared error body.',
  ...bodySchema({ type: 'string' }),
};

function bodySchema(code: object) {
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code,
          message: { type: 'string' },
          details: { description: 'Only for codes that document it.' },
        },
      },
    },
  };
}
