import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { mintToken, type TokenKey } from '@livetally/gateway';
import { startService, type ServiceProcess } from './support/processes';
import { STACK, freePort, uniqueName, waitFor } from './support/stack';

/**
 * The real gateway entry point with nothing but what it cannot do without: no
 * GATEWAY_AUTH, so the defaults decide. It must not run open: without a signing secret
 * it refuses to start and says how to make one; with one, every API call and /metrics
 * need a token.
 */
const KEY: TokenKey = { kid: 'k1', secret: randomBytes(36).toString('base64') };
const running: ServiceProcess[] = [];
// Whatever the test runner's environment says about access control, the defaults are tested.
const DEFAULTS = {
  GATEWAY_AUTH: '',
  GATEWAY_TOKEN_SECRETS: '',
  GATEWAY_METRICS_PUBLIC: '',
  GATEWAY_ALLOWED_ORIGINS: '',
};

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
});

async function gateway(env: Record<string, string>): Promise<ServiceProcess> {
  const child = startService('gateway', {
    ...DEFAULTS,
    REDIS_URL: STACK.redisUrl,
    REDIS_KEY_PREFIX: uniqueName('lt-test-defaults'),
    ...env,
  });
  running.push(child);
  return child;
}

describe('gateway defaults', () => {
  it('refuses to start without GATEWAY_TOKEN_SECRETS and says how to make one', async () => {
    const child = await gateway({ GATEWAY_PORT: String(await freePort()) });
    const code = await Promise.race([
      child.exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000)),
    ]);
    expect(code, child.output().slice(-2000)).toBe(2);
    expect(child.output()).toMatch(
      /GATEWAY_TOKEN_SECRETS is required when GATEWAY_AUTH=on \(the default\).*openssl rand -base64 48/,
    );
  });

  it('with a secret, answers nothing but the page and probes without a token', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = await gateway({ GATEWAY_PORT: String(port), GATEWAY_TOKEN_SECRETS: `${KEY.kid}:${KEY.secret}` });
    await waitFor(
      'gateway /readyz',
      async () => {
        if (child.child.exitCode !== null) throw new Error(`gateway exited: ${child.output().slice(-2000)}`);
        return (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1_000) }).catch(() => null))?.ok;
      },
      30_000,
      200,
    );
    const status = async (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      (await fetch(`${base}${path}`, { method, headers, signal: AbortSignal.timeout(5_000) })).status;
    const bearer = (role: 'reader' | 'engineer') => ({
      authorization: `Bearer ${mintToken({ sub: 'defaults', role, scopes: ['*'], ttlSeconds: 600, now: Date.now() }, KEY)}`,
    });

    expect(await status('/v1/totals/all')).toBe(401);
    expect(await status('/v1/totals/all', bearer('reader'))).toBe(200);
    expect(await status('/metrics')).toBe(401);
    expect(await status('/metrics', bearer('reader'))).toBe(403);
    expect(await status('/metrics', bearer('engineer'))).toBe(200);

    const page = await fetch(`${base}/`, { signal: AbortSignal.timeout(5_000) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self';");
    // No GATEWAY_ALLOWED_ORIGINS: another origin's page gets no CORS answer.
    const preflight = await fetch(`${base}/v1/totals/all`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://elsewhere.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
      signal: AbortSignal.timeout(5_000),
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
