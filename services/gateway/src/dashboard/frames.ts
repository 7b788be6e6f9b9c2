// The page's side of the /v1/live protocol (services/gateway/src/live/protocol.ts): which
// channels a scope needs, and which incoming frames to apply. Kept free of the DOM and of
// gateway imports, since this folder is the browser's program.

export type ClientMessage = { type: 'subscribe' | 'unsubscribe'; channel: string } | { type: 'ping' };

export interface DataFrame {
  type: 'snapshot' | 'update';
  channel: string;
  seq: number;
  ts?: number;
  data: unknown;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  channel?: string;
}

export type ServerFrame = DataFrame | ErrorFrame | { type: 'pong' };

/** A text frame as the page handles it; null for JSON the protocol does not define. */
export function parseFrame(text: string): ServerFrame | null {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) return null;
  const f = value as Record<string, unknown>;
  if ((f.type === 'snapshot' || f.type === 'update') && typeof f.channel === 'string' && typeof f.seq === 'number')
    return {
      type: f.type,
      channel: f.channel,
      seq: f.seq,
      data: f.data,
      ...(typeof f.ts === 'number' ? { ts: f.ts } : {}),
    };
  if (f.type === 'error')
    return {
      type: 'error',
      code: String(f.code),
      message: String(f.message),
      ...(typeof f.channel === 'string' ? { channel: f.channel } : {}),
    };
  if (f.type === 'pong') return { type: 'pong' };
  return null;
}

/** A ranking panel's channel: the scope's own, or the national one whatever the scope. */
export interface RankingChannel {
  dim: string;
  national?: boolean;
}

/** Role on the screen (totals, windows, series, rank-<dim>) → channel name, for a scope. */
export function channelsFor(scope: string, rankings: readonly RankingChannel[]): Record<string, string> {
  const out: Record<string, string> = {
    totals: `totals:${scope}`,
    windows: `windows:${scope}`,
    series: `series:${scope}`,
  };
  for (const r of rankings)
    out[`rank-${r.dim}`] = r.national ? 'rankings:all:city:gmv' : `rankings:${scope}:${r.dim}:gmv`;
  return out;
}

/**
 * The channels the screen wants and what it has applied of each: a snapshot always
 * applies and makes its channel fresh on this connection; an update applies only when
 * newer than the last one applied (frames may repeat or arrive late around resubscribes).
 */
export class ChannelFeed {
  private roles: Record<string, string> = {};
  private wanted = new Set<string>();
  private readonly seqs = new Map<string, number>();
  private readonly fresh = new Set<string>();

  constructor(private readonly rankings: readonly RankingChannel[]) {}

  /** Switches to a scope's channels; returns the previous ones, to unsubscribe. */
  setScope(scope: string): string[] {
    const previous = [...this.wanted];
    this.roles = channelsFor(scope, this.rankings);
    this.wanted = new Set(Object.values(this.roles));
    this.forgetConnection();
    return previous;
  }

  /** Shows a scope's roles before any channel is wanted (the page's first paint). */
  nameChannels(scope: string): void {
    this.roles = channelsFor(scope, this.rankings);
  }

  channels(): string[] {
    return [...this.wanted];
  }

  wants(channel: string): boolean {
    return this.wanted.has(channel);
  }

  /** A new connection starts with nothing applied: every channel needs a fresh snapshot. */
  forgetConnection(): void {
    this.seqs.clear();
    this.fresh.clear();
  }

  /** Records the frame and says whether to show it. */
  accept(frame: DataFrame): boolean {
    if (!this.wanted.has(frame.channel)) return false;
    const last = this.seqs.get(frame.channel);
    if (frame.type === 'update' && last !== undefined && !(frame.seq > last)) return false;
    this.seqs.set(frame.channel, frame.seq);
    if (frame.type === 'snapshot') this.fresh.add(frame.channel);
    return true;
  }

  roleOf(channel: string): string | undefined {
    return Object.keys(this.roles).find((role) => this.roles[role] === channel);
  }

  /** A role is fresh once its channel sent a snapshot on the current connection. */
  isFresh(role: string): boolean {
    const channel = this.roles[role];
    return channel !== undefined && this.fresh.has(channel);
  }
}
