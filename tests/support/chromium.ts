import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core: the one setup the dashboard browser test
 * and the month benchmark's screenshot share.
 */
export const CHROMIUM = process.env.LT_CHROMIUM ?? '/usr/bin/chromium'; // Debian's package; LT_CHROMIUM only to try another build
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const CHROMIUM_MISSING = `${CHROMIUM} is missing (apt-get install chromium; infra/test.sh installs it when run as root)`;

// --user-data-dir is given through launchPersistentContext (playwright refuses it in args).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** REST / channel totals field → the element of the big screen that shows it (data-value: raw integer, money in fen). */
export const TOTAL_TESTIDS: Record<string, string> = {
  salesFen: 'gmv',
  netSalesFen: 'net-gmv',
  refundsFen: 'refunds-fen',
  views: 'views',
  likes: 'likes',
  uniqueViewers: 'unique-viewers',
  sessions: 'sessions',
  sessionsEnded: 'sessions-ended',
  liveSessions: 'live-sessions',
  activeHosts: 'active-hosts',
  orders: 'orders',
  items: 'items',
  refunds: 'refunds',
};

export interface ChromiumSession {
  context: BrowserContext;
  /** Closes the browser and deletes its profile folder. */
  close(): Promise<void>;
}

/** Headless Chromium at the wall screen's size (1920×1080), with a fresh profile in a temporary folder. */
export async function launchChromium(): Promise<ChromiumSession> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'lt-dashboard-chromium-'));
  const removeProfile = () => rmSync(userDataDir, { recursive: true, force: true });
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1920, height: 1080 },
      deviceScaleFactor: 1,
      timeout: 30_000,
    });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        removeProfile();
      },
    };
  } catch (err) {
    removeProfile();
    throw err;
  }
}
