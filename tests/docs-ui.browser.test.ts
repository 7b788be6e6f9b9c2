import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig, startGateway, type RunningGateway } from '@livetally/gateway';
import { createLogger } from '@livetally/logging';
import { AUTH_ENV } from './support/gateway-auth';
import { within } from './support/stack';

/**
 * Swagger UI at the gateway's /docs in a real Chromium, with access control on: the page
 * renders every operation of the generated document and runs a request under the CSP that
 * the gateway scopes to /docs, without a single refused script, style, image or fetch
 * (Chromium reports each CSP refusal as a console error). Screenshot: test-results/docs-ui.png.
 */
const CHROMIUM = process.env.LT_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`[docs-ui.browser] skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lt-test-docs-ui-${process.pid}-${Date.now()}`;
const SCREENSHOT = resolve(import.meta.dirname, '..', 'test-results', 'docs-ui.png');

describe.skipIf(!HAVE_CHROMIUM)('Swagger UI at /docs', () => {
  let redis: Redis;
  let gateway: RunningGateway;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => undefined); // surfaced by the ping below instead
    await within(
      8_000,
      `Redis at ${REDIS_URL}`,
      redis.connect().then(() => redis.ping()),
    );
    const config = parseGatewayConfig({ ...AUTH_ENV, GATEWAY_PORT: '0', REDIS_URL, LOG_LEVEL: 'silent' });
    gateway = await startGateway(config, createLogger({ service: 'gateway', level: 'silent' }), { keyPrefix: PREFIX });
    userDataDir = mkdtempSync(join(tmpdir(), 'lt-docs-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      viewport: { width: 1280, height: 1600 },
      timeout: 30_000,
    });
    context.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await gateway?.stop();
    const keys = await redis.keys(`${PREFIX}:*`).catch(() => []);
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
  });

  it('renders every operation and runs a request, with no CSP refusal', async () => {
    const page = context!.pages()[0] ?? (await context!.newPage());
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const offsite: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(gateway.url) && !r.url().startsWith('data:')) offsite.push(r.url());
    });

    await page.goto(`${gateway.url}/docs`);
    await page.locator('.opblock').first().waitFor();
    const documented = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, object>;
    };
    const operations = Object.values(documented.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(await page.locator('.opblock').count()).toBe(operations);

    // Try /healthz from the page: the fetch runs under connect-src 'self'.
    const healthz = page.locator('.opblock', { has: page.locator('[data-path="/healthz"]') });
    await healthz.locator('.opblock-summary').click();
    await healthz.getByRole('button', { name: 'Try it out' }).click();
    await healthz.getByRole('button', { name: 'Execute' }).click();
    await expect
      .poll(async () => (await healthz.locator('.live-responses-table .response-col_status').allTextContents()).join())
      .toContain('200');
    await page.screenshot({ path: SCREENSHOT, fullPage: false });

    expect(problems).toEqual([]);
    expect(offsite).toEqual([]);
  });
});
