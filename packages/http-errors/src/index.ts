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
