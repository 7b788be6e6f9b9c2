import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { ClickHouseHttpError, ErrorCode } from './errors';

/**
 * Reads the whole request body, decompressing it per Content-Encoding. The
 * limit applies to the decompressed size too, so a small compressed body
 * cannot expand into unbounded memory.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);

  const source = decoderFor(encoding, req);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
    }
  } catch (err) {
    if (source !== req) source.destroy();
    const code = String((err as NodeJS.ErrnoException).code ?? '');
    if (source === req || !/^(Z_|ERR_BROTLI|ERR_ZLIB)/.test(code)) throw err;
    throw ClickHouseHttpError.of(
      ErrorCode.CANNOT_DECOMPRESS,
      `Cannot decompress request body (Content-Encoding: ${encoding}): ${(err as Error).message}`,
    );
  }
  return Buffer.concat(chunks, total);
}

function decoderFor(encoding: string, req: IncomingMessage): Readable {
  switch (encoding) {
    case '':
    case 'identity':
      return req;
    case 'gzip':
    case 'x-gzip':
      return through(req, zlib.createGunzip());
    case 'deflate':
      return through(req, zlib.createInflate());
    case 'br':
      return through(req, zlib.createBrotliDecompress());
    default:
      throw ClickHouseHttpError.of(ErrorCode.NOT_IMPLEMENTED, `Unsupported Content-Encoding: ${encoding}`);
  }
}

// pipeline (not pipe) so an aborted upload also ends the decoder, instead of
// leaving the reader waiting for data that never comes.
function through(req: IncomingMessage, decoder: Transform): Readable {
  pipeline(req, decoder, () => {});
  return decoder;
}

function tooLarge(maxBytes: number): ClickHouseHttpError {
  return ClickHouseHttpError.of(
    ErrorCode.QUERY_IS_TOO_LARGE,
    `Request body exceeds the limit of ${maxBytes} bytes (after decompression)`,
  );
}

export function compress(data: Uint8Array, encoding: 'gzip' | 'deflate' | 'br', level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => (err ? reject(err) : resolve(out));
    if (encoding === 'gzip') zlib.gzip(data, { level }, done);
    else if (encoding === 'deflate') zlib.deflate(data, { level }, done);
    else zlib.brotliCompress(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level } }, done);
  });
}
