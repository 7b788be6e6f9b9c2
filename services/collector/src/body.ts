import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CollectorError } from './errors';

const gunzipAsync = promisify(gunzip);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Replaces fastify's body parsers with one for JSON that also takes gzip. fastify reads
 * at most `maxBodyBytes` off the wire (413 beyond); a gzip body is then inflated with
 * zlib's maxOutputLength, which stops inflating as soon as the output would pass the
 * same bound — a zip bomb costs at most `maxBodyBytes` of memory and the CPU to make
 * it. Every other content type is answered 415 by fastify.
 */
export function registerBodyParser(app: FastifyInstance, maxBodyBytes: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: maxBodyBytes },
    async (request: FastifyRequest, body: Buffer) =>
      decodeBody(
        body,
        { contentType: request.headers['content-type'], contentEncoding: request.headers['content-encoding'] },
        maxBodyBytes,
      ),
  );
}

/** Checks charset and encoding, inflates, decodes UTF-8 strictly and parses JSON. */
export async function decodeBody(
  raw: Buffer,
  headers: { contentType?: string; contentEncoding?: string },
  maxBodyBytes: number,
): Promise<unknown> {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(headers.contentType ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset))
    throw new CollectorError('UNSUPPORTED_MEDIA_TYPE', `charset ${charset} is not supported; send UTF-8.`);
  const bytes = await inflate(raw, (headers.contentEncoding ?? '').trim().toLowerCase(), maxBodyBytes);
  if (bytes.length === 0) throw new CollectorError('INVALID_JSON', 'The body is empty.');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new CollectorError('INVALID_JSON', 'The body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CollectorError('INVALID_JSON', `The body is not valid JSON: ${(err as Error).message}`);
  }
}

async function inflate(raw: Buffer, encoding: string, maxBodyBytes: number): Promise<Buffer> {
  if (encoding === '' || encoding === 'identity') return raw;
  if (encoding !== 'gzip' && encoding !== 'x-gzip')
    throw new CollectorError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding ${encoding} is not supported; use gzip or none.`,
    );
  try {
    return await gunzipAsync(raw, { maxOutputLength: maxBodyBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CollectorError('PAYLOAD_TOO_LARGE', `The body inflates to more than ${maxBodyBytes} bytes.`);
    }
    throw new CollectorError('INVALID_BODY', 'The body is not valid gzip data.');
  }
}

/** The events of a parsed body: `{ "events": [...] }` or a bare array, 1..maxEvents of them. */
export function extractEvents(body: unknown, maxEvents: number): unknown[] {
  const events = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null && Array.isArray((body as { events?: unknown }).events)
      ? (body as { events: unknown[] }).events
      : undefined;
  if (events === undefined) throw new CollectorError('INVALID_BODY');
  if (events.length === 0) throw new CollectorError('INVALID_BODY', 'The batch has no events.');
  if (events.length > maxEvents)
    throw new CollectorError(
      'TOO_MANY_EVENTS',
      `The batch has ${events.length} events; at most ${maxEvents} are accepted per request.`,
    );
  return events;
}
