import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  LIVE_RANK_DIMENSIONS,
  LIVE_RANK_MEASURES,
  type LiveRankDimension,
  type LiveRankMeasure,
} from '@livetally/live-state';
import { formatScope, parseStrictScope } from '@livetally/events';
import type { ErrorCode } from '../errors';
import { CLIENT_MESSAGE_SCHEMAS, type ClientMessageType } from './frame-schemas';

/**
 * The /v1/live wire protocol: JSON text frames.
 *   client → {"type":"subscribe","channel":"<channel>"} | {"type":"unsubscribe","channel":…} | {"type":"ping"}
 *   channels: totals:<scope>, windows:<scope>, series:<scope>, rankings:<all|campaign:id>:<dimension>:<measure>
 *   server → snapshot | update | pong | error (see the frame builders below)
 * Every frame's JSON Schema is in ./frame-schemas.ts.
 */
export const TOTALS_CHANNEL_PREFIX = 'totals:';

export type ClientMessage =
  { type: 'subscribe'; channel: string } | { type: 'unsubscribe'; channel: string } | { type: 'ping' };

export type Failure = { ok: false; code: ErrorCode; message: string };

export type ChannelKind = 'totals' | 'windows' | 'series' | 'rankings';

export interface Channel {
  /** Canonical channel name, as echoed in server frames. */
  name: string;
  /** Canonical scope whose changes make the channel dirty (for rankings: the parent scope). */
  scope: string;
  /** Defaults to totals. */
  kind?: ChannelKind;
  dimension?: LiveRankDimension;
  measure?: LiveRankMeasure;
}

/** Rolling windows and series move with the clock, not only with new events. */
export const isTimeBased = (c: Channel): boolean => c.kind === 'windows' || c.kind === 'series';

/**
 * Parses a channel name into its canonical form; see the protocol comment at the top.
 * Scopes are parsed strictly (parseStrictScope): a channel costs memory and reads, so only
 * scopes that can hold data get one. Never throws.
 */
export function parseChannel(text: string): { ok: true; channel: Channel } | Failure {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (kind === 'totals' || kind === 'windows' || kind === 'series') {
    const parsed = parseStrictScope(rest);
    if (!parsed.ok) return { ok: false, code: 'INVALID_CHANNEL', message: parsed.message };
    const scope = formatScope(parsed.scope);
    return { ok: true, channel: { name: `${kind}:${scope}`, scope, kind } };
  }
  if (kind === 'rankings') {
    const parts = rest.split(':');
    const measure = parts.pop() as LiveRankMeasure;
    const dimension = parts.pop() as LiveRankDimension;
    const parent = parseStrictScope(parts.join(':'));
    if (
      !parent.ok ||
      (parent.scope.kind !== 'all' && parent.scope.kind !== 'campaign') ||
      !LIVE_RANK_DIMENSIONS.includes(dimension) ||
      !LIVE_RANK_MEASURES.includes(measure)
    ) {
      return {
        ok: false,
        code: 'INVALID_CHANNEL',
        message: `rankings channel must look like "rankings:<all|campaign:<id>>:<${LIVE_RANK_DIMENSIONS.join('|')}>:<${LIVE_RANK_MEASURES.join('|')}>", got ${JSON.stringify(text.slice(0, 80))}`,
      };
    }
    const scope = formatScope(parent.scope);
    return {
      ok: true,
      channel: { name: `rankings:${scope}:${dimension}:${measure}`, scope, kind, dimension, measure },
    };
  }
  return {
    ok: false,
    code: 'INVALID_CHANNEL',
    message: `channel must start with totals:, windows:, series: or rankings:, got ${JSON.stringify(text.slice(0, 80))}`,
  };
}

// The client messages' own schemas decide what a message must hold.
const ajv = new Ajv({ allErrors: false });
const CLIENT_VALIDATORS = Object.fromEntries(
  Object.entries(CLIENT_MESSAGE_SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<ClientMessageType, ValidateFunction>;
const CLIENT_TYPES = Object.keys(CLIENT_MESSAGE_SCHEMAS).join(', ');

/** Parses one text frame; never throws, so a bad frame can only ever earn an error frame. */
export function parseClientMessage(text: string): { ok: true; message: ClientMessage } | Failure {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'INVALID_JSON', message: 'frame is not valid JSON' };
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    typeof (value as { type?: unknown }).type !== 'string'
  ) {
    return { ok: false, code: 'BAD_FRAME', message: 'frame must be a JSON object with a string "type"' };
  }
  const { type, channel } = value as { type: string; channel?: unknown };
  if (!Object.hasOwn(CLIENT_VALIDATORS, type))
    return {
      ok: false,
      code: 'UNKNOWN_TYPE',
      message: `unknown type ${JSON.stringify(type.slice(0, 40))}; expected ${CLIENT_TYPES}`,
    };
  const validate = CLIENT_VALIDATORS[type as ClientMessageType];
  if (!validate(value)) return refusal(type, validate.errors?.[0]);
  return { ok: true, message: (type === 'ping' ? { type } : { type, channel }) as ClientMessage };
}

function refusal(type: string, error: ErrorObject | undefined): Failure {
  const field =
    error?.instancePath.split('/')[1] || (error?.params as { missingProperty?: string } | undefined)?.missingProperty;
  if (field === 'channel')
    return { ok: false, code: 'INVALID_CHANNEL', message: `"${type}" needs a string "channel" such as "totals:all"` };
  return { ok: false, code: 'BAD_FRAME', message: `"${type}" ${field ?? 'frame'} ${error?.message ?? 'is invalid'}` };
}

export const snapshotFrame = (channel: string, data: unknown, seq: number, ts: number): string =>
  JSON.stringify({ type: 'snapshot', channel, data, seq, ts });

export const updateFrame = (channel: string, data: unknown, seq: number, ts: number): string =>
  JSON.stringify({ type: 'update', channel, data, seq, ts });

export const pongFrame = (ts: number): string => JSON.stringify({ type: 'pong', ts });

export function errorFrame(code: ErrorCode, message: string, channel?: string): string {
  return JSON.stringify(
    channel === undefined ? { type: 'error', code, message } : { type: 'error', code, message, channel },
  );
}
