/** Version of the event envelope this code reads and writes. */
export const EVENT_VERSION = 1 as const;

export const EVENT_TYPES = ['stream_started', 'stream_ended', 'view', 'sale', 'refund', 'like'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Fields every event carries; dimensions are denormalised by the sender. */
export interface EventBase {
  v: typeof EVENT_VERSION;
  type: EventType;
  eventId: string;
  platform: string;
  streamId: string;
  hostId: string;
  /** Event time, ms since the Unix epoch. */
  ts: number;
  city: string;
  district: string;
  category: string;
}

export interface StreamStartedEvent extends EventBase {
  type: 'stream_started';
  title?: string;
}

export interface StreamEndedEvent extends EventBase {
  type: 'stream_ended';
}

export interface ViewEvent extends EventBase {
  type: 'view';
  /**
   * Opaque viewer id, already hashed by the platform. Optional: the unique-viewer
   * estimate counts the events that name a viewer, so a view without one adds to views only.
   */
  viewerId?: string;
  /** How many views of the stream the event stands for ("this many in this interval"); 1 when left out. */
  count?: number;
}

export interface SaleEvent extends EventBase {
  type: 'sale';
  orderId: string;
  sku: string;
  quantity: number;
  /** Paid amount in integer fen (CNY cents). */
  amountFen: number;
}

export interface RefundEvent extends EventBase {
  type: 'refund';
  orderId: string;
  amountFen: number;
}

/** Likes of a stream; platforms that batch taps send one event for several. */
export interface LikeEvent extends EventBase {
  type: 'like';
  /** How many likes the event stands for (1 when the sender leaves it out). */
  count: number;
}

export type LiveEvent = StreamStartedEvent | StreamEndedEvent | ViewEvent | SaleEvent | RefundEvent | LikeEvent;

/** Machine-readable reasons an event is rejected; they travel in DLQ headers. */
export type RejectReason =
  | 'oversized'
  | 'not_utf8'
  | 'not_json'
  | 'not_object'
  | 'unsupported_version'
  | 'unknown_type'
  | 'missing_field'
  | 'wrong_type'
  | 'not_integer'
  | 'out_of_range'
  | 'too_long'
  | 'control_characters'
  | 'invalid_characters';

export interface FieldError {
  field: string;
  reason: RejectReason;
  message: string;
}

export type DecodeResult = { ok: true; event: LiveEvent } | { ok: false; errors: FieldError[] };
