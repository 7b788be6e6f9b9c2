import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, type ErrorCode } from '../errors';
import { allowAll, type RoleCheck } from '../http/access';
import { checkScope, decide, ruleFor, type PolicyOptions, type RouteTarget } from './policy';
import { scopeAllowed } from './scopes';
import { verifyToken, type TokenClaims, type TokenKey } from './token';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token of the request; null with GATEWAY_AUTH=off and on open routes. */
    principal: TokenClaims | null;
  }
}

export interface AuthSettings extends PolicyOptions {
  keys: readonly TokenKey[];
  clockSkewSeconds: number;
}

/** What the rest of the gateway asks of access control; everything allowed when it is off. */
export interface Access {
  enabled: boolean;
  /** The requireRole seam (POST /v1/sql). */
  authorize: RoleCheck;
  /** May this request see a scope (live subscriptions, campaign listings)? */
  canSee(request: FastifyRequest, scope: string): boolean;
  /** When the request's token expires (ms since the epoch); long-lived sockets close then. */
  expiresAt(request: FastifyRequest): number | undefined;
}

export const OPEN_ACCESS: Access = {
  enabled: false,
  authorize: allowAll,
  canSee: () => true,
  expiresAt: () => undefined,
};

/** Sec-WebSocket-Protocol entry carrying a token: browsers cannot set headers on a WebSocket. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/**
 * The token a request presents: `Authorization: Bearer` for every request; for a
 * WebSocket upgrade also a `bearer.<token>` subprotocol or the `token` query parameter.
 */
export function presentedToken(request: Pick<FastifyRequest, 'headers' | 'query' | 'ws'>): {
  token?: string;
  problem?: string;
} {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer +([^\s]+)\s*$/i.exec(header);
    return m ? { token: m[1] } : { problem: 'the Authorization header must be "Bearer <token>"' };
  }
  if (!request.ws) return {};
  const protocols = String(request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const fromProtocol = protocols.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  if (fromProtocol) return { token: fromProtocol.slice(BEARER_PROTOCOL_PREFIX.length) };
  const query = (request.query ?? {}) as Record<string, unknown>;
  return typeof query.token === 'string' ? { token: query.token } : {};
}

/**
 * With settings (GATEWAY_AUTH=on): every request to a route that is not open must
 * present a valid token (401 UNAUTHORIZED before anything else runs; for /v1/live the
 * upgrade is refused before the socket opens), then pass the policy (403 FORBIDDEN).
 * Without settings nothing is registered and everything is allowed.
 */
export function registerAuth(
  app: FastifyInstance,
  settings: AuthSettings | undefined,
  onRefused: (reason: string) => void = () => undefined,
  now: () => number = Date.now,
): void {
  if (!settings) return;
  app.decorateRequest('principal', null);

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    code: ErrorCode,
    reason: string,
    message: string,
  ): FastifyReply => {
    onRefused(reason);
    request.log[code === 'FORBIDDEN' ? 'info' : 'debug'](
      { reason, sub: request.principal?.sub, route: request.routeOptions.url },
      'access refused',
    );
    if (code === 'UNAUTHORIZED')
      reply.header(
        'www-authenticate',
        `Bearer realm="livetally"${reason === 'missing' ? '' : ', error="invalid_token"'}`,
      );
    return reply
      .code(code === 'UNAUTHORIZED' ? 401 : 403)
      .header('cache-control', 'no-store')
      .send(errorBody(code, message));
  };

  app.addHook('onRequest', async (request, reply) => {
    const rule = ruleFor(request.method, request.routeOptions.url, settings);
    if (rule?.open) return;
    const presented = presentedToken(request);
    if (presented.problem) return refuse(request, reply, 'UNAUTHORIZED', 'malformed', presented.problem);
    if (!presented.token)
      return refuse(
        request,
        reply,
        'UNAUTHORIZED',
        'missing',
        'a bearer token is required (Authorization: Bearer <token>)',
      );
    const verified = verifyToken(presented.token, settings.keys, {
      now: now(),
      clockSkewSeconds: settings.clockSkewSeconds,
    });
    if (!verified.ok) {
      return refuse(
        request,
        reply,
        'UNAUTHORIZED',
        verified.reason,
        verified.reason === 'expired' ? 'the token has expired' : 'the token is not valid',
      );
    }
    request.principal = verified.claims;
    const decision = decide(verified.claims, rule, targetOf(request));
    if (!decision.ok) return refuse(request, reply, 'FORBIDDEN', 'forbidden', decision.message);
  });

  // Campaign creation names its campaign in the body, which exists only from here on.
  app.addHook('preValidation', async (request, reply) => {
    const rule = ruleFor(request.method, request.routeOptions.url, settings);
    if (!rule?.bodyScope || !request.principal) return;
    const decision = checkScope(request.principal, rule.bodyScope(request.body));
    if (!decision.ok) return refuse(request, reply, 'FORBIDDEN', 'forbidden', decision.message);
  });
}

/** The checks other modules make on an authenticated request; all open without settings. */
export function accessFor(settings: AuthSettings | undefined): Access {
  if (!settings) return OPEN_ACCESS;
  return {
    enabled: true,
    authorize: (request, role) => request.principal?.role === role,
    canSee: (request, scope) => request.principal !== null && scopeAllowed(request.principal.scopes, scope),
    expiresAt: (request) =>
      request.principal ? (request.principal.exp + settings.clockSkewSeconds) * 1000 : undefined,
  };
}

/** A URL as it may be logged: the value of a `token` query parameter is replaced. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}

function targetOf(request: FastifyRequest): RouteTarget {
  return {
    method: request.method,
    route: request.routeOptions.url,
    params: (request.params ?? {}) as Record<string, string | undefined>,
    query: (request.query ?? {}) as Record<string, unknown>,
  };
}
