import { LIVE_RANK_DIMENSIONS, LIVE_RANK_MEASURES, TOTAL_FIELDS } from '@livetally/live-state';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors';
import { SERIES_COLUMNS } from './redis-channel-reader';

/**
 * The /v1/live frames as JSON Schema (draft-07): the one description of the protocol.
 * parseClientMessage checks client messages with them, the AsyncAPI document
 * (./asyncapi.ts, served at GET /asyncapi.json) publishes them, and the contract test checks every
 * frame a real gateway sends against that document.
 */

const integer = (description?: string) => ({ type: 'integer', ...(description ? { description } : {}) });
const object = (properties: Record<string, object>, description?: string) => ({
  type: 'object',
  ...(description ? { description } : {}),
  required: Object.keys(properties),
  properties,
});
const typeOf = (type: string) => ({ type: 'string', const: type });

const CHANNEL_DESCRIPTION =
  'totals:<scope>, windows:<scope>, series:<scope> (scopes as in GET /v1/totals/{scope}) or ' +
  `rankings:<all|campaign:<id>>:<${LIVE_RANK_DIMENSIONS.join('|')}>:<${LIVE_RANK_MEASURES.join('|')}>`;

const clientChannel = {
  type: 'string',
  description: CHANNEL_DESCRIPTION,
  examples: ['totals:all', "totals:district:Bao'an", 'rankings:campaign:ecm-2024:district:gmv'],
};

/** What a client may send, by type. A type not listed here is answered UNKNOWN_TYPE. */
export const CLIENT_MESSAGE_SCHEMAS = {
  subscribe: {
    description: 'Start receiving a channel: a snapshot now, then updates while it changes.',
    ...object({ type: typeOf('subscribe'), channel: clientChannel }),
  },
  unsubscribe: {
    description: 'Stop receiving a channel (no answer; unsubscribing twice is harmless).',
    ...object({ type: typeOf('unsubscribe'), channel: clientChannel }),
  },
  ping: { description: 'Asks for a pong (an application-level heartbeat).', ...object({ type: typeOf('ping') }) },
} as const;

export type ClientMessageType = keyof typeof CLIENT_MESSAGE_SCHEMAS;

const TOTALS = Object.fromEntries(TOTAL_FIELDS.map((f) => [f, integer()]));
const totals = (description: string) => object(TOTALS, description);

/** The data of a channel kind, by the channel's prefix. */
export const CHANNEL_DATA_SCHEMAS = {
  totals: object(
    {
      ...TOTALS,
      netSalesFen: integer('salesFen - refundsFen'),
      liveSessions: integer(
        'sessions - sessionsEnded, at least 0 (a campaign window counts the ends of sessions already live when it opened)',
      ),
      uniqueViewers: integer('HyperLogLog estimate (standard error 0.81%)'),
      activeHosts: integer('HyperLogLog estimate of distinct hosts with any event'),
    },
    'Cumulative totals of the scope: exact integers, money in fen.',
  ),
  windows: object(
    {
      m1: totals('The current minute'),
      m5: totals('The current minute and the 4 before it'),
      m60: totals('The current minute and the 59 before it'),
    },
    'Rolling windows; they move with the clock, so updates also come when no event arrives.',
  ),
  series: object(
    {
      start: integer('Start of the first minute, ms since epoch'),
      stepMs: integer('Width of each point: 60000'),
      ...Object.fromEntries(SERIES_COLUMNS.map((m) => [m, { type: 'array', items: integer() }])),
    },
    'The last 120 minutes, oldest first, as one column per measure.',
  ),
  rankings: object(
    {
      top: {
        type: 'array',
        description: 'Best first, at most 10',
        items: object({ name: { type: 'string' }, value: integer() }),
      },
      members: integer('How many members the leaderboard has'),
    },
    'A live leaderboard.',
  ),
} as const;

/** snapshot and update frames: the channel's data, typed by the channel's prefix. */
const dataFrame = (type: 'snapshot' | 'update', description: string) => ({
  description,
  ...object({
    type: typeOf(type),
    channel: { type: 'string', pattern: '^(totals|windows|series|rankings):', description: 'The canonical channel' },
    data: { description: 'The channel kind decides the shape (see the conditions below)' },
    seq: integer('Per channel, increasing; drop a frame whose seq is not above the last seen'),
    ts: integer('When the data was read, ms since epoch'),
  }),
  allOf: Object.entries(CHANNEL_DATA_SCHEMAS).map(([kind, data]) => ({
    if: { properties: { channel: { pattern: `^${kind}:` } } },
    then: { properties: { data } },
  })),
});

/** The codes an error frame may carry. */
export const LIVE_ERROR_CODES = [
  'INVALID_JSON',
  'BAD_FRAME',
  'UNKNOWN_TYPE',
  'INVALID_CHANNEL',
  'TOO_MANY_SUBSCRIPTIONS',
  'GATEWAY_FULL',
  'FRAME_TOO_LARGE',
  'RATE_LIMITED',
  'FORBIDDEN',
  'NOT_READY',
  'INTERNAL',
] as const satisfies readonly ErrorCode[];

/** What the gateway sends, by type. */
export const SERVER_FRAME_SCHEMAS = {
  snapshot: dataFrame('snapshot', "A channel's current data, sent after every subscribe."),
  update: dataFrame('update', "A channel's new data, at most once per LIVE_PUSH_INTERVAL_MS while it changes."),
  pong: { description: 'The answer to a ping.', ...object({ type: typeOf('pong'), ts: integer('ms since epoch') }) },
  error: {
    description: 'A message was refused; the connection stays open. ' + codeMeanings(),
    type: 'object',
    required: ['type', 'code', 'message'],
    properties: {
      type: typeOf('error'),
      code: { type: 'string', enum: [...LIVE_ERROR_CODES] },
      message: { type: 'string' },
      channel: { type: 'string', maxLength: 200, description: 'The channel the refused message named, if any' },
    },
  },
} as const;

function codeMeanings(): string {
  return LIVE_ERROR_CODES.map((c) => `${c}: ${ERROR_CATALOGUE[c].message}`).join(' ');
}
