import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors';

/**
 * Runs a call to ClickHouse or Redis. The gateway's own errors pass through; anything
 * else (connection refused, timeout, a ClickHouse exception such as a missing table
 * before migrations ran) is logged and answered as 503 UNAVAILABLE without its details.
 */
export async function callStore<T>(
  request: FastifyRequest,
  what: 'history' | 'campaign store',
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    const answered =
      typeof (err as { code?: unknown }).code === 'string' && /^\d+$/.test((err as { code: string }).code);
    // A ClickHouse exception means ClickHouse is up but refused our own query: worth an error line.
    request.log[answered ? 'error' : 'warn']({ err }, `${what} call failed`);
    throw new GatewayError(
      'UNAVAILABLE',
      what === 'history'
        ? 'ClickHouse (history) did not answer; try again shortly'
        : 'the campaign store (Redis, ClickHouse) did not answer; try again shortly',
    );
  }
}
