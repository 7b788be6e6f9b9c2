import type { Totals } from '@livetally/live-state';
import type { Channel } from './protocol';
import type { OutFrame } from './wire';

/** Where current totals come from (RedisCounterStore in production, a Map in unit tests). */
export interface TotalsReader {
  readTotals(scopes: readonly string[]): Promise<Map<string, Totals>>;
}

/** Reads any kind of channel; keyed by channel name. The gateway wires one over Redis. */
export interface ChannelReader {
  read(channels: readonly Channel[], now: number): Promise<Map<string, unknown>>;
  /**
   * Told of every change notification ('all' after the change feed reconnected), with the
   * partition tag whose channel carried it (ADR 0003), so it can keep values between reads.
   */
  noteChanged?(scopes: readonly string[] | 'all', tag?: string): void;
}

/** One connected client as the hub sees it; the WebSocket wiring adapts sockets to this. */
export interface Subscriber {
  /** One frame object may go to many subscribers: send it as it is. */
  send(frame: OutFrame): void;
  /** True while the client's socket is too backed up to take another update. */
  isCongested(): boolean;
  /** Whose subscriptions count together against the per-token cap (the token's subject); none without a token. */
  readonly owner?: string;
}

/** Time and timers, injected so the hub is tested without waiting. */
export interface HubClock {
  now(): number;
  /** Calls fn every ms milliseconds; returns a cancel function. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once, after ms milliseconds; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: HubClock = {
  now: () => Date.now(),
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    handle.unref(); // the HTTP server, not the tick, decides whether the process stays up
    return () => clearInterval(handle);
  },
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** Hooks the metrics module implements; all optional. */
export interface HubObserver {
  onFramesSent?(type: 'snapshot' | 'update' | 'error', count: number): void;
  /** Time from the first change notification to the update going out. */
  onFanOut?(latencyMs: number, recipients: number): void;
  onSubscriptions?(total: number): void;
  /** Updates not sent to congested sockets in one fan-out (they get the latest value later). */
  onUpdatesDeferred?(count: number): void;
  onReadError?(err: unknown): void;
}
