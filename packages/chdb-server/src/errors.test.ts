import { describe, expect, it } from 'vitest';
import { ClickHouseHttpError, ErrorCode, exceptionBody, fromEngineError, httpStatusFor } from './errors';

// The regular expression @clickhouse/client 1.23 uses to recognise a server error.
const clientErrorRe =
  /(Code|Error): (?<code>\d+).*Exception: (?<message>.+?)\((?<type>(?=[A-Z0-9_]*[A-Z]{3})[A-Z0-9_]+)\)/s;

describe('engine errors', () => {
  it('lifts code and type out of an engine message and keeps the text', () => {
    const err = fromEngineError(
      new Error("Code: 60. DB::Exception: Unknown table expression identifier 'nope'. (UNKNOWN_TABLE)"),
    );
    expect(err.code).toBe(60);
    expect(err.type).toBe('UNKNOWN_TABLE');
    const body = exceptionBody(err, '26.7.2.1');
    expect(body).toBe(
      "Code: 60. DB::Exception: Unknown table expression identifier 'nope'. (UNKNOWN_TABLE) (version 26.7.2.1)\n",
    );
    expect(clientErrorRe.exec(body)?.groups).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });

  it('keeps nested engine messages parseable by the client', () => {
    const msg =
      'Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format X. (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT)';
    const err = fromEngineError(new Error(msg));
    expect(err.code).toBe(73);
    const groups = clientErrorRe.exec(exceptionBody(err, '26.7.2.1'))?.groups;
    expect(groups).toMatchObject({ code: '73', type: 'UNKNOWN_FORMAT', message: 'Unknown format X. ' });
  });

  it('renders the server’s own errors in ClickHouse form', () => {
    const body = exceptionBody(ClickHouseHttpError.of(ErrorCode.SYNTAX_ERROR, 'Empty query'), '1.0');
    expect(body).toBe('Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR) (version 1.0)\n');
    expect(fromEngineError(new Error('boom')).code).toBe(ErrorCode.UNKNOWN_EXCEPTION);
  });

  it('maps codes to the HTTP statuses ClickHouse uses', () => {
    const status = (code: number) => httpStatusFor(new ClickHouseHttpError(code, 'X', 'm'));
    expect(status(62)).toBe(400);
    expect(status(60)).toBe(404);
    expect(status(516)).toBe(403);
    expect(status(229)).toBe(413);
    expect(status(164)).toBe(500);
    expect(httpStatusFor(ClickHouseHttpError.of(1, 'm', 405))).toBe(405);
  });
});
