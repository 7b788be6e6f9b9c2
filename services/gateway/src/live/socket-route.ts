import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { BEARER_PROTOCOL_PREFIX, OPEN_ACCESS, type Access } from '../auth/guard';
import { LiveConnection, type RouteContext } from './connection';
import type { FrameRateOptions } from './frame-rate';
import type { LiveHub } from './hub';
import { LIVE_ROUTE_SCHEMA } from './route-schema';

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

// The heartbeat pings one slice of the sockets at a time, HEARTBEAT_SLICES times per
// heartbeatMs: pinging 10k sockets at once stalls the event loop, and every update
// waiting behind it, for as long as 10k writes take, and brings 10k pongs back at once.
const HEARTBEAT_SLICES = 10;

/** Registers @fastify/websocket, the /v1/live route, the heartbeat and socket shutdown. */
export async function registerLiveSocket(
  app: FastifyInstance,
  hub: LiveHub,
  options: LiveSocketOptions,
  hooks: LiveSocketHooks = {},
  access: Pick<Access, 'canSee' | 'expiresAt'> = OPEN_ACCESS,
): Promise<void> {
  const ctx: RouteContext = { hub, options, hooks, access };
  const connections = new Set<LiveConnection>();
  let opened = 0;

  await app.register(websocket, {
    options: {
      maxPayload: Math.max(options.maxMessageBytes * HARD_CAP_FACTOR, 64 * 1024),
      // Frames of a few hundred bytes gain little from compression, and LiveConnection.send
      // writes finished frames past ws, which is only correct without it.
      perMessageDeflate: false,
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
      const closed = clients.map(
        (ws) =>
          new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()))),
      );
      for (const ws of clients) ws.close(1001, 'server shutting down');
      await Promise.race([Promise.all(closed), delay(options.closeGraceMs)]);
      for (const ws of clients) if (ws.readyState !== ws.CLOSED) ws.terminate();
      await new Promise<void>((resolve) => app.websocketServer.close(() => resolve()));
    },
  });

  // One timer for all sockets: a socket that did not answer its previous ping is dead
  // (half-open TCP, sleeping laptop) and is terminated to free its subscriptions.
  // The same timer closes connections whose token has expired (policy violation, 1008).
  let beat = 0;
  const heartbeat = setInterval(() => {
    const slice = beat++ % HEARTBEAT_SLICES;
    const now = Date.now();
    for (const c of connections) {
      const { ws } = c;
      if ((c.expiresAt ?? Infinity) <= now && ws.readyState === ws.OPEN) {
        hooks.onRefused?.('expired');
        ws.close(1008, 'token expired');
        continue;
      }
      if (c.slot !== slice) continue;
      if (!c.alive) {
        ws.terminate();
        continue;
      }
      c.alive = false;
      ws.ping();
    }
  }, options.heartbeatMs / HEARTBEAT_SLICES);
  heartbeat.unref();
  app.addHook('onClose', async () => clearInterval(heartbeat));

  app.get('/v1/live', { websocket: true, schema: { ...LIVE_ROUTE_SCHEMA } }, (socket, request) => {
    // Everything here is synchronous, so the listeners exist before any await could
    // let an error or a message slip by unobserved.
    const connection = new LiveConnection(
      ctx,
      socket,
      request,
      request.raw.socket ?? undefined,
      opened++ % HEARTBEAT_SLICES,
    );
    connections.add(connection);
    socket.on('error', (err) => connection.log().debug({ err }, 'websocket error'));
    socket.on('pong', () => (connection.alive = true));
    socket.on('message', (data, isBinary) => connection.onMessage(data, isBinary));
    socket.on('close', () => {
      connections.delete(connection);
      hub.removeSubscriber(connection);
      hooks.onClientDisconnected?.();
    });
    hooks.onClientConnected?.();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
