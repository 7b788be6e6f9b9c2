import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, type ErrorCode } from '../errors';

/**
 * Checks on WebSocket upgrades of /v1/live that run before the socket opens: the
 * browser's Origin (cross-site WebSocket hijacking) and connection caps. Refusals are
 * plain HTTP answers on the upgrade request, so the client sees the status.
 */
export interface UpgradeLimits {
  /** Extra origins allowed besides the gateway's own (GATEWAY_ALLOWED_ORIGINS); `*` allows any. */
  allowedOrigins: readonly string[];
  /** Open WebSocket connections per gateway process (WS_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Per client address (WS_MAX_CONNECTIONS_PER_IP; behind a proxy see GATEWAY_TRUST_PROXY). */
  maxConnectionsPerIp: number;
}

/**
 * A request without Origin is not from a browser and passes (tokens guard those); a
 * browser's Origin must be the gateway's own (same host and port as the Host header)
 * or listed. The "null" origin of sandboxed pages and files never matches.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.origin === 'null') return false;
  if (allowed.includes(url.origin)) return true;
  if (!host) return false;
  try {
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}

/** Counts open connections, in total and per address. Reserve before opening, release once. */
export class ConnectionCounter {
  private readonly perIp = new Map<string, number>();
  private open = 0;

  constructor(private readonly limits: Pick<UpgradeLimits, 'maxConnections' | 'maxConnectionsPerIp'>) {}

  get total(): number {
    return this.open;
  }

  /** Takes a slot for `ip`, or says which cap is full. */
  reserve(ip: string): 'ok' | 'ip' | 'total' {
    if (this.open >= this.limits.maxConnections) return 'total';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.limits.maxConnectionsPerIp) return 'ip';
    this.perIp.set(ip, n + 1);
    this.open++;
    return 'ok';
  }

  release(ip: string): void {
    const n = this.perIp.get(ip);
    if (n === undefined) return;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    this.open--;
  }
}

function refuse(reply: FastifyReply, code: ErrorCode, status: number, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send(errorBody(code, message));
}

const isUpgrade = (request: FastifyRequest) => request.ws === true;

/** Origin check; registered before authentication so cross-site pages learn nothing about tokens. */
export function registerOriginCheck(
  app: FastifyInstance,
  allowedOrigins: readonly string[],
  onRefused: (reason: string) => void,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!isUpgrade(request)) return;
    const origin = request.headers.origin;
    if (originAllowed(origin, request.headers.host, allowedOrigins)) return;
    onRefused('origin');
    request.log.info({ origin: String(origin).slice(0, 200) }, 'websocket upgrade refused: origin not allowed');
    return refuse(
      reply,
      'FORBIDDEN_ORIGIN',
      403,
      `origin ${JSON.stringify(String(origin).slice(0, 200))} may not open live connections here`,
    );
  });
}

/**
 * Connection caps; registered after authentication so unauthenticated clients cannot
 * use up slots. The slot is held until the TCP socket closes, whether or not the
 * upgrade completes.
 */
export function registerConnectionCaps(
  app: FastifyInstance,
  counter: ConnectionCounter,
  onRefused: (reason: string) => void,
): void {
  app.addHook('onRequest', async (request, reply) => {
    // app.injectWS() upgrades have no TCP socket to count.
    if (!isUpgrade(request) || !request.raw.socket) return;
    const ip = request.ip;
    const verdict = counter.reserve(ip);
    if (verdict === 'ok') {
      request.raw.socket.once('close', () => counter.release(ip));
      return;
    }
    onRefused(verdict === 'ip' ? 'connections_per_ip' : 'connections');
    request.log.warn(
      { ip, open: counter.total },
      verdict === 'ip' ? 'websocket upgrade refused: per-address cap' : 'websocket upgrade refused: gateway full',
    );
    return verdict === 'ip'
      ? refuse(reply, 'TOO_MANY_CONNECTIONS', 429, `this address already has the maximum number of live connections`)
      : refuse(reply, 'GATEWAY_FULL', 503, 'this gateway has the maximum number of live connections');
  });
}
