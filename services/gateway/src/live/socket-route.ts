import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { BEARER_PROTOCOL_PREFIX, OPEN_ACCESS, type Access } from '../auth/guard';
import type { ErrorCode } from '../errors';
import { FrameRateLimiter, type FrameRateOptions } from './frame-rate';
import type { LiveHub } from './hub';
import { errorFrame, parseChannel, parseClientMessage, pongFrame } from './protocol';
import type { Subscriber } from './types';

export interface LiveSocketOptions {
  /** Largest client frame answered normally; bigger ones get FRAME_TOO_LARGE. */
  maxMessageBytes: number;
  heartbeatMs: number;
  /** Above this many unsent bytes a socket counts as congested and updates skip it. */
  maxBufferedBytes: number;
  /** How long shutdown waits for clients to answer the close handshake. */
  closeGraceMs: number;
  /** Per-connection frame rate limit (every client frame counts). */
  frameRate: FrameRateOptions;
}

export interface LiveSocketHooks {
  onClientConnected?(): void;
  onClientDisconnected?(): void;
  onFramesSent?(type: 'pong' | 'error', count: number): void;
  /** A frame or a connection refused: 'rate', 'abusive', 'forbidden', 'expired'. */
  onRefused?(reason: string): void;
}

// Frames this much over the limit are dropped by ws itself (close 1009) so that a
// hostile client cannot make the gateway buffer megabytes; between the limit and this
// cap the client gets an error frame and keeps its connection.
const HARD_CAP_FACTOR = 16;

/** Registers @fastify/websocket, the /v1/live route, the heartbeat and socket shutdown. */
export async function registerLiveSocket(app: FastifyInstance, hub: LiveHub, options: LiveSocketOptions, hooks: LiveSocketHooks = {}, access: Pick<Access, 'canSee' | 'expiresAt'> = OPEN_ACCESS): Promise<void> {
  const alive = new WeakSet<WebSocket>();
  const expiries = new WeakMap<WebSocket, number>();

  await app.register(websocket, {
    options: {
      maxPayload: Math.max(options.maxMessageBytes * HARD_CAP_FACTOR, 64 * 1024),
      // A browser that sent ["livetally", "bearer.<token>"] must get a protocol back or it
      // drops the connection; never echo the token one.
      handleProtocols: (protocols) => [...protocols].find((p) => !p.startsWith(BEARER_PROTOCOL_PREFIX)) ?? false,
    },
    errorHandler(error, socket, request) {
      request.log.debug({ err: error }, 'websocket error; terminating');
      socket.terminate();
    },
    // Close every socket during fastify.close(): ask politely, then terminate stragglers,
    // because the HTTP server cannot finish closing while upgraded sockets stay open.
    async preClose() {
      clearInterval(heartbeat);
      const clients = [...app.websocketServer.clients];
      const closed = clients.map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()))));
      for (const ws of clients) ws.close(1001, 'server shutting down');
      await Promise.race([Promise.all(closed), delay(options.closeGraceMs)]);
      for (const ws of clients) if (ws.readyState !== ws.CLOSED) ws.terminate();
      await new Promise<void>((resolve) => app.websocketServer.close(() => resolve()));
    },
  });

  // One timer for all sockets: a socket that did not answer the previous ping is dead
  // (half-open TCP, sleeping laptop) and is terminated to free its subscriptions.
  // The same timer closes connections whose token has expired (policy violation, 1008).
  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const ws of app.websocketServer.clients) {
      if ((expiries.get(ws) ?? Infinity) <= now && ws.readyState === ws.OPEN) {
        hooks.onRefused?.('expired');
        ws.close(1008, 'token expired');
        continue;
      }
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, options.heartbeatMs);
  heartbeat.unref();
  app.addHook('onClose', async () => clearInterval(heartbeat));

  app.get('/v1/live', { websocket: true }, (socket, request) => {
    // Everything here is synchronous, so the listeners exist before any await could
    // let an error or a message slip by unobserved.
    const log = request.log.child({ ws: request.id });
    socket.on('error', (err) => log.debug({ err }, 'websocket error'));
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
    const expiresAt = access.expiresAt(request);
    if (expiresAt !== undefined) expiries.set(socket, expiresAt);
    const limiter = new FrameRateLimiter(options.frameRate, Date.now());

    const subscriber: Subscriber = {
      send: (frame) => {
        if (socket.readyState === socket.OPEN) socket.send(frame);
      },
      isCongested: () => socket.bufferedAmount > options.maxBufferedBytes,
    };
    const reject = (code: ErrorCode, message: string, channel?: string) => {
      subscriber.send(errorFrame(code, message, channel));
      hooks.onFramesSent?.('error', 1);
    };

    const onFrame = (data: RawData, isBinary: boolean): void => {
      if (socket.readyState !== socket.OPEN) return; // closing: nothing more is answered
      const verdict = limiter.take(Date.now());
      if (verdict === 'abusive') {
        hooks.onRefused?.('abusive');
        log.info('closing a connection that keeps sending over the frame rate limit');
        return socket.close(1008, 'frame rate limit exceeded');
      }
      if (verdict === 'limited') {
        hooks.onRefused?.('rate');
        return reject('RATE_LIMITED', `over ${options.frameRate.perSecond} frames per second; this frame was dropped`);
      }
      const bytes = byteLength(data);
      if (bytes > options.maxMessageBytes) return reject('FRAME_TOO_LARGE', `frame has ${bytes} bytes; at most ${options.maxMessageBytes} are accepted`);
      if (isBinary) return reject('BAD_FRAME', 'binary frames are not supported; send JSON text');
      const parsed = parseClientMessage(rawToString(data));
      if (!parsed.ok) return reject(parsed.code, parsed.message);
      const msg = parsed.message;
      if (msg.type === 'ping') {
        subscriber.send(pongFrame(Date.now()));
        hooks.onFramesSent?.('pong', 1);
      } else if (msg.type === 'subscribe') {
        const channel = parseChannel(msg.channel);
        if (channel.ok && !access.canSee(request, channel.channel.scope)) {
          hooks.onRefused?.('forbidden');
          return reject('FORBIDDEN', `the token does not cover ${channel.channel.scope}`, channel.channel.name);
        }
        const result = hub.subscribe(subscriber, msg.channel);
        if (!result.ok) reject(result.code, result.message, msg.channel.slice(0, 200));
      } else {
        hub.unsubscribe(subscriber, msg.channel); // unsubscribing twice is harmless: no answer needed
      }
    };

    socket.on('message', (data, isBinary) => {
      try {
        onFrame(data, isBinary);
      } catch (err) {
        // Never let one client's frame take the process down.
        log.error({ err }, 'failed to handle websocket frame');
        reject('INTERNAL', 'internal error while handling the frame');
      }
    });
    socket.on('close', () => {
      hub.removeSubscriber(subscriber);
      hooks.onClientDisconnected?.();
    });
    hooks.onClientConnected?.();
  });
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
