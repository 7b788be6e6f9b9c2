import type { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Access } from '../auth/guard';
import type { ErrorCode } from '../errors';
import { FrameRateLimiter } from './frame-rate';
import type { LiveHub } from './hub';
import { errorFrame, parseChannel, parseClientMessage, pongFrame, type ClientMessage } from './protocol';
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
  /**
   * Set while a subscribe waits for its token's count in Redis: the messages after it
   * wait too, so that they are answered in the order sent (an unsubscribe must not
   * overtake its subscribe). Otherwise a message is answered at once.
   */
  private waiting: Promise<void> | undefined;

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
      const message = this.onFrame(data, isBinary);
      if (message) this.answerInOrder(message);
    } catch (err) {
      this.failed(err);
    }
  }

  private answerInOrder(message: ClientMessage): void {
    const answered = this.waiting ? this.waiting.then(() => this.answer(message)) : this.answer(message);
    if (!answered) return;
    const waiting = answered.catch((err: unknown) => this.failed(err));
    this.waiting = waiting;
    void waiting.then(() => {
      if (this.waiting === waiting) this.waiting = undefined;
    });
  }

  /** Never lets one client's frame take the process down. */
  private failed(err: unknown): void {
    this.log().error({ err }, 'failed to handle websocket frame');
    this.reject('INTERNAL', 'internal error while handling the frame');
  }

  /** A child logger only when there is something to log: one per socket would cost memory at 10k sockets. */
  log() {
    return this.request.log.child({ ws: this.request.id });
  }

  /** Rate, size and shape checks as the frame arrives; the message to answer, if it passes. */
  private onFrame(data: RawData, isBinary: boolean): ClientMessage | undefined {
    const { options, hooks } = this.ctx;
    if (this.ws.readyState !== this.ws.OPEN) return; // closing: nothing more is answered
    const verdict = this.limiter.take(Date.now());
    if (verdict === 'abusive') {
      hooks.onRefused?.('abusive');
      this.log().info('closing a connection that keeps sending over the frame rate limit');
      this.ws.close(1008, 'frame rate limit exceeded');
      return;
    }
    if (verdict === 'limited') {
      hooks.onRefused?.('rate');
      this.reject('RATE_LIMITED', `over ${options.frameRate.perSecond} frames per second; this frame was dropped`);
      return;
    }
    const bytes = byteLength(data);
    if (bytes > options.maxMessageBytes) {
      this.reject('FRAME_TOO_LARGE', `frame has ${bytes} bytes; at most ${options.maxMessageBytes} are accepted`);
      return;
    }
    if (isBinary) {
      this.reject('BAD_FRAME', 'binary frames are not supported; send JSON text');
      return;
    }
    const parsed = parseClientMessage(rawToString(data));
    if (parsed.ok) return parsed.message;
    this.reject(parsed.code, parsed.message);
    return;
  }

  /** Answers one message; a subscribe answers later (the promise), everything else at once. */
  private answer(msg: ClientMessage): Promise<void> | undefined {
    const { hub, hooks, access } = this.ctx;
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (msg.type === 'ping') {
      this.send(new OutFrame(pongFrame(Date.now())));
      hooks.onFramesSent?.('pong', 1);
    } else if (msg.type === 'subscribe') {
      const channel = parseChannel(msg.channel);
      if (channel.ok && !access.canSee(this.request, channel.channel.scope)) {
        hooks.onRefused?.('forbidden');
        this.reject('FORBIDDEN', `the token does not cover ${channel.channel.scope}`, channel.channel.name);
        return;
      }
      return hub.subscribe(this, msg.channel).then((result) => {
        if (!result.ok) this.reject(result.code, result.message, msg.channel.slice(0, 200));
      });
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
