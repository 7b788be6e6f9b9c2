import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildResult } from 'esbuild';

/** The page's markup and style; its script is bundled from DASHBOARD_ENTRY into one inline <script>. */
export const DASHBOARD_TEMPLATE = new URL('./dashboard/page.html', import.meta.url);
export const DASHBOARD_ENTRY = new URL('./dashboard/browser/main.ts', import.meta.url);
/** Where page.html takes the script; exactly once. */
const SCRIPT_MARKER = '<!-- the script: main.ts, bundled and inlined here by ../dashboard.ts -->';

export interface DashboardPage {
  html: string;
  /** Headers sent with every gateway response. */
  securityHeaders: Record<string, string>;
}

/**
 * The script is bundled when the gateway starts, with esbuild, rather than by a build step
 * (a Vite build into a git-ignored folder) because nothing then can be missing or stale:
 * a fresh clone, a unit test building the app, a gateway a test spawns, the Docker image
 * (installed with --omit=dev, where Vite is absent) and an engineer who just edited
 * main.ts all serve the page built from the sources they have, with no command to
 * remember (and Vite 8 needs Node 20.19 or later, the project any Node 20). esbuild is
 * already in every gateway process (tsx runs the sources with it), so this adds no
 * package; bundling takes about 20 ms (a few hundred on a cold, busy machine), once per
 * process. Type checking and lint stay with tsc and ESLint (npm run typecheck, npm run lint).
 */
export function bundleDashboardScript(entry: URL = DASHBOARD_ENTRY): string {
  const result = bundle(entry);
  const code = result.outputFiles[0]!.text.trimEnd();
  // The HTML parser ends a script at "</script" and treats "<!--" specially inside it.
  if (/<\/script|<!--/i.test(code))
    throw new Error(`dashboard: the bundle of ${fileURLToPath(entry)} contains </script or <!--; it cannot be inlined`);
  return code;
}

function bundle(entry: URL): BuildResult<{ write: false }> {
  try {
    return buildSync({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      charset: 'utf8',
      legalComments: 'none',
      write: false,
      logLevel: 'silent',
    });
  } catch (err) {
    throw new Error(`dashboard: bundling ${fileURLToPath(entry)} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** page.html with the bundled script in place of its marker. */
export function renderDashboardHtml(template: URL = DASHBOARD_TEMPLATE, entry: URL = DASHBOARD_ENTRY): string {
  const html = readFileSync(template, 'utf8');
  const parts = html.split(SCRIPT_MARKER);
  if (parts.length !== 2)
    throw new Error(`dashboard: ${fileURLToPath(template)} must hold the script marker exactly once: ${SCRIPT_MARKER}`);
  return `${parts[0]}<script>${bundleDashboardScript(entry)}</script>${parts[1]}`;
}

const pages = new Map<string, DashboardPage>();

/**
 * Builds the page once per process and derives its Content-Security-Policy. The page's
 * inline <script> and <style> are allowed by their SHA-256 hashes instead of
 * 'unsafe-inline', so even an injected inline script would not run; nothing may load from
 * another origin.
 */
export function loadDashboard(template: URL = DASHBOARD_TEMPLATE, entry: URL = DASHBOARD_ENTRY): DashboardPage {
  const key = `${template.href} ${entry.href}`;
  let page = pages.get(key);
  if (!page) {
    page = pageWithPolicy(renderDashboardHtml(template, entry));
    pages.set(key, page);
  }
  return page;
}

function pageWithPolicy(html: string): DashboardPage {
  const scripts = inlineHashes(html, 'script');
  const styles = inlineHashes(html, 'style');
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${scripts.join(' ')}`.trim(),
    `style-src 'self' ${styles.join(' ')}`.trim(),
    // 'self' covers the page's own ws:/wss: origin (CSP Level 3); no other host may be reached.
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    html,
    securityHeaders: {
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    },
  };
}

function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  return [...html.matchAll(re)].map((m) => `'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`);
}
