import { isUtf8 } from 'node:buffer';
import { LIMITS, type Limits } from './limits';
import type { DecodeResult, LiveEvent } from './types';
import { validateEvent } from './validate';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 text of a Buffer, as the fatal TextDecoder gives it (leading BOM dropped); null when invalid. */
function utf8Text(bytes: Uint8Array): string | null {
  if (!Buffer.isBuffer(bytes)) {
    try {
      return utf8.decode(bytes);
    } catch {
      return null;
    }
  }
  if (!isUtf8(bytes)) return null;
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return bytes.toString('utf8', bom ? 3 : 0);
}

export function encodeEvent(event: LiveEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** Decodes and validates one message value; never throws. */
export function decodeEvent(bytes: Uint8Array | null, now: number, limits: Limits = LIMITS): DecodeResult {
  if (bytes === null || bytes.length === 0) {
    return { ok: false, errors: [{ field: '$', reason: 'not_json', message: 'message has no value' }] };
  }
  if (bytes.length > limits.maxEventBytes) {
    return {
      ok: false,
      errors: [
        {
          field: '$',
          reason: 'oversized',
          message: `message is ${bytes.length} bytes, at most ${limits.maxEventBytes} allowed`,
        },
      ],
    };
  }
  const text = utf8Text(bytes);
  if (text === null)
    return { ok: false, errors: [{ field: '$', reason: 'not_utf8', message: 'message is not valid UTF-8' }] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      errors: [{ field: '$', reason: 'not_json', message: `message is not JSON: ${(err as Error).message}` }],
    };
  }
  return validateEvent(parsed, { now, limits });
}

/** One line for logs and DLQ headers: "field: reason (message); …". */
export function describeErrors(errors: readonly { field: string; reason: string; message: string }[]): string {
  return errors.map((e) => `${e.field}: ${e.reason} (${e.message})`).join('; ');
}
