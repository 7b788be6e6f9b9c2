import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Cross-origin REST access for the pages listed in GATEWAY_ALLOWED_ORIGINS (`*` = any).
 * Empty list: nothing is registered, no CORS header is ever sent, so browsers keep every
 * other origin's scripts from reading the answers. Tokens travel in the Authorization
 * header, never in cookies, hence no credentials. Register before authentication:
 * a preflight carries no token and is answered by the plugin's own hook.
 */
export async function registerCors(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  if (allowedOrigins.length === 0) return;
  await app.register(fastifyCors, {
    origin: allowedOrigins.includes('*') ? '*' : [...allowedOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT'],
    allowedHeaders: ['authorization', 'content-type'],
    exposedHeaders: ['retry-after'],
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
}
