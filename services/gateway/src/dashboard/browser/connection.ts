// The /v1/live WebSocket: reconnects with capped exponential backoff and jitter, and pings
// so that a silent connection is abandoned (browsers hide protocol pings from pages).
import { reconnectDelayMs, secondsUntil } from '../backoff';
import { parseFrame, type ClientMessage, type ServerFrame } from '../frames';
import type { ConnectionState } from './status';

const PING_EVERY_MS = 15_000;
const PONG_WITHIN_MS = 10_000;
const COUNTDOWN_TICK_MS = 250;
/** Close codes the gateway sends on purpose. */
const GOING_AWAY = 1001;
const POLICY_VIOLATION = 1008;

export interface ConnectionEvents {
  /** `retrying`: an earlier connection was lost, so what is on screen may be old. */
  status(state: ConnectionState, text: string, retrying: boolean): void;
  /** A fresh connection: every wanted channel must be subscribed again. */
  opened(): void;
  frame(frame: ServerFrame): void;
  /** The connection is gone; nothing on screen is live until the next one. */
  lost(): void;
  /** The gateway refused us (close code 1008, e.g. "token expired"). */
  refused(reason: string): void;
}

export class LiveConnection {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private retryTimer = 0;
  private countdownTimer = 0;
  private pingTimer = 0;
  private pongDeadline = 0;

  constructor(
    private readonly url: string,
    private readonly events: ConnectionEvents,
  ) {}

  /** A socket exists (open or opening). */
  get active(): boolean {
    return this.ws !== null;
  }

  send(msg: ClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  connect(): void {
    clearInterval(this.countdownTimer);
    const first = this.attempt === 0;
    this.events.status(
      first ? 'connecting' : 'reconnecting',
      first ? '连接中 Connecting…' : '重连中 Reconnecting…',
      !first,
    );
    const socket = new WebSocket(this.url);
    this.ws = socket;
    socket.addEventListener('open', () => {
      if (socket !== this.ws) return;
      this.attempt = 0;
      this.events.status('live', '实时 Live', false);
      this.events.opened();
      this.pingTimer = window.setInterval(() => this.ping(socket), PING_EVERY_MS);
    });
    socket.addEventListener('message', (ev: MessageEvent) => {
      if (socket !== this.ws) return;
      try {
        const frame = parseFrame(String(ev.data));
        this.pongDeadline = 0; // any frame proves the connection is alive
        if (frame) this.events.frame(frame);
      } catch (e) {
        console.warn(e);
      }
    });
    socket.addEventListener('close', (ev: CloseEvent) => {
      if (socket === this.ws) {
        // The gateway is shutting down (a restart or deploy): give it a moment before the first retry.
        if (ev.code === GOING_AWAY) this.attempt = Math.max(this.attempt, 2);
        if (ev.code === POLICY_VIOLATION) this.events.refused(ev.reason || 'policy violation');
      }
      this.abandon(socket);
    });
  }

  private ping(socket: WebSocket): void {
    if (this.pongDeadline && Date.now() > this.pongDeadline) return this.abandon(socket);
    if (!this.pongDeadline) this.pongDeadline = Date.now() + PONG_WITHIN_MS;
    this.send({ type: 'ping' });
  }

  private abandon(socket: WebSocket): void {
    if (socket !== this.ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    this.pongDeadline = 0;
    try {
      socket.close();
    } catch {
      // already closed
    }
    this.events.lost();
    const delay = reconnectDelayMs(this.attempt, Math.random());
    this.attempt++;
    const until = Date.now() + delay;
    const show = () =>
      this.events.status('reconnecting', `重连中 Reconnecting · ${secondsUntil(until, Date.now())} 秒 s`, true);
    show();
    clearInterval(this.countdownTimer);
    this.countdownTimer = window.setInterval(show, COUNTDOWN_TICK_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
  }
}
