/**
 * ClickHouse-shaped errors. @clickhouse/client turns a failed response into a
 * ClickHouseError by matching `Code: <n>. DB::Exception: <msg> (<TYPE>)` in
 * the body, so every failure this server reports — from the engine or from
 * the HTTP layer itself — is rendered in exactly that shape.
 */

/** Error codes the HTTP layer raises itself (numbers as in ClickHouse's ErrorCodes.cpp). */
export const ErrorCode = {
  UNSUPPORTED_METHOD: 1,
  BAD_ARGUMENTS: 36,
  NOT_IMPLEMENTED: 48,
  SYNTAX_ERROR: 62,
  UNKNOWN_SETTING: 115,
  READONLY: 164,
  QUERY_IS_TOO_LARGE: 229,
  CANNOT_DECOMPRESS: 271,
  ACCESS_DENIED: 497,
  AUTHENTICATION_FAILED: 516,
  UNSUPPORTED_MEDIA_TYPE: 779,
  UNKNOWN_EXCEPTION: 1002,
} as const;

const NAME_BY_CODE = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

export class ClickHouseHttpError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
    /** Overrides the status derived from the code (e.g. 405 for a wrong method). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClickHouseHttpError';
  }

  /** An error the HTTP layer raises; the type name comes from the code. */
  static of(code: number, message: string, status?: number): ClickHouseHttpError {
    return new ClickHouseHttpError(code, NAME_BY_CODE.get(code) ?? 'UNKNOWN_EXCEPTION', message, status);
  }
}

/**
 * Engine messages already carry `Code: <n>. DB::Exception: ... (<TYPE>)`,
 * sometimes nested two or three times; they are passed through untouched so
 * nothing the engine said is lost, and only the code and type are lifted out.
 */
export function fromEngineError(err: unknown): ClickHouseHttpError {
  const message = err instanceof Error ? err.message : String(err);
  const code = /^Code:\s*(\d+)\./.exec(message);
  if (!code) return ClickHouseHttpError.of(ErrorCode.UNKNOWN_EXCEPTION, message);
  const type = /\(([A-Z0-9_]*[A-Z]{3}[A-Z0-9_]*)\)/.exec(message);
  return new ClickHouseHttpError(Number(code[1]), type?.[1] ?? 'UNKNOWN_EXCEPTION', message);
}

/** Body text as the real server writes it. */
export function exceptionBody(err: ClickHouseHttpError, version: string): string {
  if (/^Code:\s*\d+\./.test(err.message)) {
    return err.message.includes('(version ') ? `${err.message}\n` : `${err.message} (version ${version})\n`;
  }
  const text = /[.!?]$/.test(err.message) ? err.message : `${err.message}.`;
  return `Code: ${err.code}. DB::Exception: ${text} (${err.type}) (version ${version})\n`;
}

// Transcribed from ClickHouse's src/Server/HTTP/exceptionCodeToHTTPStatus.cpp,
// so clients and proxies see the statuses they would from a real server.
const STATUS_BY_CODE = new Map<number, number>([
  [194, 401], // REQUIRED_PASSWORD
  ...[192, 193, 516, 512, 497].map((c) => [c, 403] as [number, number]),
  ...[36, 427, 6, 25, 26, 38, 41, 72, 441, 675, 676, 27, 376, 15, 44, 37, 123, 8, 167, 168, 223, 62, 117, 53, 321].map(
    (c) => [c, 400] as [number, number],
  ),
  ...[60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511].map((c) => [c, 404] as [number, number]),
  [229, 413], // QUERY_IS_TOO_LARGE
  [48, 501], // NOT_IMPLEMENTED
  [209, 503], // SOCKET_TIMEOUT
  [76, 503], // CANNOT_OPEN_FILE
  [381, 411], // HTTP_LENGTH_REQUIRED
  [159, 408], // TIMEOUT_EXCEEDED
  [439, 503], // CANNOT_SCHEDULE_TASK
  [779, 415], // UNSUPPORTED_MEDIA_TYPE
]);

export function httpStatusFor(err: ClickHouseHttpError): number {
  return err.status ?? STATUS_BY_CODE.get(err.code) ?? 500;
}
