import type { Totals } from '@livetally/counters';
import { formatScope, parseScope } from '@livetally/events';
import type { ErrorCode } from '../errors';

/**
 * The /v1/live wire protocol: JSON text frames.
 *   client → {"type":"subscribe","channel":"totals:<scope>"} | {"type":"unsubscribe","channel":…} | {"type":"ping"}
 *   server → snapshot | update | pong | error (see the frame builders below)
 */
export const TOTALS_CHANNEL_PREFIX = 'totals:';

export type ClientMessage = { type: 'subscribe'; channel: string } | { type: 'unsubscribe'; channel: string } | { type: 'ping' };

export type Failure = { ok: false; code: ErrorCode; message: string };

export interface Channel {
  /** Canonical channel name, as echoed in server frames. */
  name: string;
  /** Canonical scope the channel's totals are read for. */
  scope: string;
}

/** Parses "totals:<scope>" into its canonical channel and scope. */
export function parseChannel(text: string): { ok: true; channel: Channel } | Failure {
  if (!text.startsWith(TOTALS_CHANNEL_PREFIX)) {
    return { ok: false, code: 'INVALID_CHANNEL', message: `channel must look like "totals:<scope>", got ${JSON.stringify(text.slice(0, 80))}` };
  }
  const parsed = parseScope(text.slice(TOTALS_CHANNEL_PREFIX.length));
  if (!parsed.ok) return { ok: false, code: 'INVALID_CHANNEL', message: parsed.message };
  const scope = formatScope(parsed.scope);
  return { ok: true, channel: { name: TOTALS_CHANNEL_PREFIX + scope, scope } };
}

/** Parses one text frame; never throws, so a bad frame can only ever earn an error frame. */
export function parseClientMessage(text: string): { ok: true; message: ClientMessage } | Failure {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'INVALID_JSON', message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    return { ok: false, code: 'BAD_FRAME', message: 'frame must be a JSON object with a string "type"' };
  }
  const { type, channel } = value as { type: string; channel?: unknown };
  switch (type) {
    case 'ping':
      return { ok: true, message: { type } };
    case 'subscribe':
    case 'unsubscribe':
      if (typeof channel !== 'string') return { ok: false, code: 'INVALID_CHANNEL', message: `"${type}" needs a string "channel" such as "totals:all"` };
      return { ok: true, message: { type, channel } };
    default:
      return { ok: false, code: 'UNKNOWN_TYPE', message: `unknown type ${JSON.stringify(type.slice(0, 40))}; expected subscribe, unsubscribe or ping` };
  }
}

export const snapshotFrame = (channel: string, data: Totals, seq: number, ts: number): string => JSON.stringify({ type: 'snapshot', channel, data, seq, ts });

export const updateFrame = (channel: string, data: Totals, seq: number, ts: number): string => JSON.stringify({ type: 'update', channel, data, seq, ts });

export const pongFrame = (ts: number): string => JSON.stringify({ type: 'pong', ts });

export function errorFrame(code: ErrorCode, message: string, channel?: string): string {
  return JSON.stringify(channel === undefined ? { type: 'error', code, message } : { type: 'error', code, message, channel });
}
