import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Role } from '../auth/token';
import { GatewayError } from '../errors';

/** Roles an endpoint can require (the role of the caller's token). */
export type { Role } from '../auth/token';

/**
 * Decides whether a request may act in a role. With GATEWAY_AUTH=on the gateway's
 * access control (auth/guard.ts) supplies it from the request's verified token; with
 * GATEWAY_AUTH=off `allowAll` is used and every caller counts as an engineer.
 */
export type RoleCheck = (request: FastifyRequest, role: Role) => boolean | Promise<boolean>;

export const allowAll: RoleCheck = () => true;

/** A preHandler that answers 403 FORBIDDEN unless `check` grants `role`. */
export function requireRole(role: Role, check: RoleCheck = allowAll): preHandlerAsyncHookHandler {
  return async (request) => {
    if (!(await check(request, role))) throw new GatewayError('FORBIDDEN', `this endpoint requires the ${role} role`);
  };
}
