import type { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Access } from '../auth/guard';
import type { ErrorCode } from '../errors';
import { FrameRateLimiter } from './frame-rate';
import type { LiveHub } from './hub';
import { errorFrame, parseChannel, parseClientMessage, pongFrame } from './protocol';
import type { LiveSocketHooks, LiveSocketOptions } from './socket-route';
import type { Subscriber } from './types';
import { OutFrame } from './wire';

/** What every connection of the /v1/live route shares. */
export interface RouteContext {
  hub: LiveHub;
  options: LiveSocketOptions;
  hooks: LiveSocketHooks;
  access: Pick<Access, 'canSee' | 'expiresAt'>;
}

/** One open /v1/live socket: what the hub sends to and what answers the client's frames. */
export class LiveConnection implements Subscriber {
  /** Cleared when the heartbeat pings, set again by the pong. */
  alive = true;
  readonly expiresAt: number | undefined;
  /** The token's subject: its subscriptions over all its connections count against one cap. */
  readonly owner: string | undefined;
  private readonly limiter: FrameRateLimiter;

  constructor(
    private readonly ctx: RouteContext,
    readonly ws: WebSocket,
    private readonly request: FastifyRequest,
    /** The TCP socket ws writes to; app.injectWS() connections have none. */
    private readonly tcp: Duplex | undefined,
    /** Which heartbeat slice pings it. */
    readonly slot: number,
  ) {
    this.expiresAt = ctx.access.expiresAt(request);
    this.owner = request.principal?.sub;
    this.limiter = new FrameRateLimiter(ctx.options.frameRate, Date.now());
  }

  send(frame: OutFrame): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // The finished frame goes straight to the TCP socket. ws writes each of its own frames
    // (pong, ping, close) whole and synchronously, and with permessage-deflate off (see the
    // server options) it never holds one back, so the stream stays well-formed and in order;
    // bufferedAmount still counts these bytes.
    if (this.tcp) this.tcp.write(frame.wire);
    else this.ws.send(frame.text);
  }

  isCongested(): boolean {
    return this.ws.bufferedAmount > this.ctx.options.maxBufferedBytes;
  }

  onMessage(data: RawData, isBinary: boolean): void {
    try {
      this.onFrame(data, isBinary);
    } catch (err) {
      // Never let one client's frame take the process down.
      this.log().error({ err }, 'failed to handle websocket frame');
      this.reject('INTERNAL', 'internal error while handling the frame');
    }
  }

  /** A child logger only when there is something to log: one per socket would cost memory at 10k sockets. */
  log() {
    return this.request.log.child({ ws: this.request.id });
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    const { hub, options, hooks, access } = this.ctx;
    if (this.ws.readyState !== this.ws.OPEN) return; // closing: nothing more is answered
    const verdict = this.limiter.take(Date.now());
    if (verdict === 'abusive') {
      hooks.onRefused?.('abusive');
      this.log().info('closing a connection that keeps sending over the frame rate limit');
      return this.ws.close(1008, 'frame rate limit exceeded');
    }
    if (verdict === 'limited') {
      hooks.onRefused?.('rate');
      return this.reject(
        'RATE_LIMITED',
        `over ${options.frameRate.perSecond} frames per second; this frame was dropped`,
      );
    }
    const bytes = byteLength(data);
    if (bytes > options.maxMessageBytes)
      return this.reject(
        'FRAME_TOO_LARGE',
        `frame has ${bytes} bytes; at most ${options.maxMessageBytes} are accepted`,
      );
    if (isBinary) return this.reject('BAD_FRAME', 'binary frames are not supported; send JSON text');
    const parsed = parseClientMessage(rawToString(data));
    if (!parsed.ok) return this.reject(parsed.code, parsed.message);
    const msg = parsed.message;
    if (msg.type === 'ping') {
      this.send(new OutFrame(pongFrame(Date.now())));
      hooks.onFramesSent?.('pong', 1);
    } else if (msg.type === 'subscribe') {
      const channel = parseChannel(msg.channel);
      if (channel.ok && !access.canSee(this.request, channel.channel.scope)) {
        hooks.onRefused?.('forbidden');
        return this.reject('FORBIDDEN', `the token does not cover ${channel.channel.scope}`, channel.channel.name);
      }
      const result = hub.subscribe(this, msg.channel);
      if (!result.ok) this.reject(result.code, result.message, msg.channel.slice(0, 200));
    } else {
      hub.unsubscribe(this, msg.channel); // unsubscribing twice is harmless: no answer needed
    }
  }

  private reject(code: ErrorCode, message: string, channel?: string): void {
    this.send(new OutFrame(errorFrame(code, message, channel)));
    this.ctx.hooks.onFramesSent?.('error', 1);
  }
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
