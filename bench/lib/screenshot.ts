import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  CHROMIUM_MISSING,
  HAVE_CHROMIUM,
  launchChromium,
  TOTAL_TESTIDS,
  type ChromiumSession,
} from '../../tests/support/chromium';
import { ROOT } from './stack';

/**
 * A screenshot of a campaign's big screen (the gateway's dashboard page) once it shows
 * given figures, in Debian's Chromium as tests/dashboard.browser.test.ts drives it.
 */

export type ScreenshotOutcome =
  | {
      /** Files written, relative to the repo root. */
      saved: string[];
      /** Every figure on screen equalled the one asked for before the picture was taken. */
      matched: boolean;
      /** Figures that still differed when the wait ran out: "testid: screen ≠ want". */
      differences: string[];
      waitedMs: number;
    }
  | { saved: null; reason: string };

export interface CampaignScreenRequest {
  gatewayUrl: string;
  campaignId: string;
  /** Sent as ?token=, as an operator opens the page with GATEWAY_AUTH=on. */
  token: string;
  /** Totals field (salesFen, views…) → the figure the screen must show. */
  figures: Record<string, number>;
  /** Where to save, relative to the repo root; the first is taken, the others are copies. */
  paths: string[];
  timeoutMs?: number;
}

// The DOM as far as the page.evaluate callback uses it: it runs in the browser, and the project's tsconfig has no DOM lib.
interface El {
  getAttribute(name: string): string | null;
}
declare const document: { querySelectorAll(selector: string): El[]; querySelector(selector: string): El | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function screenshotCampaignScreen(req: CampaignScreenRequest): Promise<ScreenshotOutcome> {
  if (!HAVE_CHROMIUM) return { saved: null, reason: CHROMIUM_MISSING };
  const { timeoutMs = 60_000 } = req;
  let browser: ChromiumSession | undefined;
  try {
    browser = await launchChromium();
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(15_000);
    const t0 = Date.now();
    await page.goto(
      `${req.gatewayUrl}/?campaign=${encodeURIComponent(req.campaignId)}&token=${encodeURIComponent(req.token)}`,
    );
    await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: timeoutMs });
    const wanted = Object.entries(req.figures).flatMap(([field, value]) =>
      TOTAL_TESTIDS[field] ? [[TOTAL_TESTIDS[field], String(value)] as const] : [],
    );
    let differences: string[] = [];
    for (;;) {
      const shown = await page.evaluate(
        (ids) => {
          const out: Record<string, string | null> = {};
          for (const id of ids)
            out[id] = document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-value') ?? null;
          return out;
        },
        wanted.map(([id]) => id),
      );
      differences = wanted
        .filter(([id, want]) => shown[id] !== want)
        .map(([id, want]) => `${id}: ${shown[id]} ≠ ${want}`);
      if (differences.length === 0 || Date.now() - t0 > timeoutMs) break;
      await sleep(250);
    }
    const waitedMs = Date.now() - t0;
    await sleep(1_200); // the GMV counts up to its figure and highlights fade: the picture shows it at rest
    const [first, ...copies] = req.paths.map((p) => resolve(ROOT, p));
    mkdirSync(dirname(first!), { recursive: true });
    await page.screenshot({ path: first! });
    for (const copy of copies) {
      mkdirSync(dirname(copy), { recursive: true });
      copyFileSync(first!, copy);
    }
    return { saved: req.paths, matched: differences.length === 0, differences, waitedMs };
  } catch (err) {
    return { saved: null, reason: `the page could not be captured: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    await browser?.close();
  }
}
