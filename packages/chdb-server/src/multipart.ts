import { ClickHouseHttpError, ErrorCode } from './errors';

/**
 * Reads a multipart/form-data body into its named text fields. The client
 * switches to this form when query parameters are too long for a URL (parts
 * `query` and `param_<name>`); ClickHouse treats any part that carries a file
 * name as an external table, which this server does not support.
 */
export function parseMultipartFields(body: Buffer, contentType: string): Map<string, string> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const token = boundary?.[1] ?? boundary?.[2];
  if (!token) throw ClickHouseHttpError.of(ErrorCode.BAD_ARGUMENTS, 'multipart/form-data request without a boundary');

  const delimiter = Buffer.from(`--${token}`);
  const fields = new Map<string, string>();
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw ClickHouseHttpError.of(ErrorCode.BAD_ARGUMENTS, 'multipart/form-data body has no parts');

  for (;;) {
    pos += delimiter.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return fields; // closing "--boundary--"
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) break;
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(delimiter, headerEnd + 4);
    if (next < 0) break;
    // The CRLF before the next delimiter belongs to the delimiter, not the value.
    let valueEnd = next;
    if (body[valueEnd - 2] === 0x0d && body[valueEnd - 1] === 0x0a) valueEnd -= 2;
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) {
      throw ClickHouseHttpError.of(ErrorCode.BAD_ARGUMENTS, 'multipart/form-data part without a name');
    }
    if (/\bfilename="/i.test(disposition)) {
      throw ClickHouseHttpError.of(
        ErrorCode.NOT_IMPLEMENTED,
        `External tables (multipart part '${name}' with a file) are not supported by chdb-server`,
      );
    }
    if (!fields.has(name)) fields.set(name, body.subarray(headerEnd + 4, valueEnd).toString('utf8'));
    pos = next;
  }
  throw ClickHouseHttpError.of(ErrorCode.BAD_ARGUMENTS, 'multipart/form-data body is truncated');
}
