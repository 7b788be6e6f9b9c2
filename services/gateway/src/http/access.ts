import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { GatewayError } from '../errors';

/** Roles an endpoint can require. */
export type Role = 'engineer';

/**
 * Decides whether a request may act in a role. This is the seam for access control,
 * which is a separate issue: a real check (an API key or a token from a proxy header,
 * mapped to roles) is passed to buildApp as `authorize`. Until then `allowAll` is used
 * and every caller counts as an engineer — run the gateway on a trusted network.
 */
export type RoleCheck = (request: FastifyRequest, role: Role) => boolean | Promise<boolean>;

export const allowAll: RoleCheck = () => true;

/** A preHandler that answers 403 FORBIDDEN unless `check` grants `role`. */
export function requireRole(role: Role, check: RoleCheck = allowAll): preHandlerAsyncHookHandler {
  return async (request) => {
    if (!(await check(request, role))) throw new GatewayError('FORBIDDEN', `this endpoint requires the ${role} role`);
  };
}
