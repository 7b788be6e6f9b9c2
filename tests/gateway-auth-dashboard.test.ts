import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_MISSING, HAVE_CHROMIUM, launchChromium, type ChromiumSession } from './support/chromium';
import { startHistoryGateway, type HistoryFixture } from './support/gateway-history';
import { AUTH_ENV, token } from './support/gateway-auth';

/**
 * The big screen with GATEWAY_AUTH=on in a real browser: the page loads without a token,
 * takes ?token= from its own URL and sends it with its REST calls (Authorization) and its
 * WebSocket (?token=); with a campaign-scoped token it goes live on its campaign and the
 * channels outside the scope are refused (FORBIDDEN notice); when the token expires the
 * gateway closes the connection and the page says so; without a token it never goes live.
 */
if (!HAVE_CHROMIUM) console.warn(`[gateway-auth-dashboard] skipped: ${CHROMIUM_MISSING}`);

// DOM as the page.evaluate callback uses it (no DOM lib in the project's tsconfig).
interface El {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): El | null;
}
declare const document: El;

const CAMPAIGN = {
  id: 'ecm-2024',
  name: 'Auth Month',
  startsAt: '2024-08-23T00:00:00+08:00',
  endsAt: '2099-11-01T00:00:00+08:00',
};
let fx: HistoryFixture;
let browser: ChromiumSession | undefined;
let page: Page;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  // No clock skew and a 1 s heartbeat, so an expiring token closes the page's connection quickly.
  fx = await startHistoryGateway('gwauthdash', [], {
    ...AUTH_ENV,
    GATEWAY_TOKEN_CLOCK_SKEW_SECONDS: '0',
    WS_HEARTBEAT_MS: '1000',
  });
  const created = await fetch(`${fx.gateway.url}/v1/campaigns`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token('admin', ['*'])}`, 'content-type': 'application/json' },
    body: JSON.stringify(CAMPAIGN),
    signal: AbortSignal.timeout(10_000),
  });
  expect(created.status).toBe(201);
  browser = await launchChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
});

afterAll(async () => {
  await browser?.close();
  await fx?.close();
});

const screen = () =>
  page.evaluate(() => ({
    status: document.querySelector('[data-testid="status"]')!.dataset.state ?? '',
    name: document.querySelector('[data-testid="campaign-name"]')!.textContent ?? '',
    gmv: document.querySelector('[data-testid="gmv"]')!.dataset.value,
    notice: document.querySelector('[data-testid="notice"]')!.textContent ?? '',
  }));

describe.skipIf(!HAVE_CHROMIUM)('dashboard with GATEWAY_AUTH=on', () => {
  it('goes live on its campaign with ?token= and shows what the token does not cover as refused', async () => {
    const reader = token('reader', ['campaign:ecm-2024']);
    await page.goto(`${fx.gateway.url}/?campaign=ecm-2024&token=${reader}`, { timeout: 15_000 });
    await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 15_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="notice"]')!.textContent!.includes('FORBIDDEN'),
      undefined,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      () => document.querySelector('[data-testid="gmv"]')!.dataset.value !== undefined,
      undefined,
      { timeout: 10_000 },
    );
    const s = await screen();
    expect(s.name).toContain('Auth Month'); // GET /v1/campaigns/ecm-2024 answered: the page sent its token
    const rest = await fetch(`${fx.gateway.url}/v1/totals/campaign:ecm-2024`, {
      headers: { authorization: `Bearer ${reader}` },
      signal: AbortSignal.timeout(5_000),
    });
    expect(s.gmv).toBe(String(((await rest.json()) as { totals: { salesFen: number } }).totals.salesFen));
    expect(s.notice).toContain('rankings:all:city:gmv: FORBIDDEN'); // the national ranking needs scope all
  });

  it('is disconnected when its token expires and says so', async () => {
    const shortLived = token('reader', ['campaign:ecm-2024'], { ttlSeconds: 3 });
    await page.goto(`${fx.gateway.url}/?campaign=ecm-2024&token=${shortLived}`, { timeout: 15_000 });
    await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 15_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="notice"]')!.textContent!.includes('token expired'),
      undefined,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      () => document.querySelector('[data-testid="status"]')!.dataset.state !== 'live',
      undefined,
      { timeout: 5_000 },
    );
  });

  it('never goes live without a token and says why', async () => {
    await page.goto(`${fx.gateway.url}/?campaign=ecm-2024`, { timeout: 15_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="notice"]')!.textContent!.includes('?token='),
      undefined,
      { timeout: 10_000 },
    );
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await screen()).status).not.toBe('live');
  });
});
