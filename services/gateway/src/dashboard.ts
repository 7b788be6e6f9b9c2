import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The dashboard is one self-contained file; it is read once when the app is built. */
export const DASHBOARD_FILE = new URL('./public/dashboard.html', import.meta.url);

export interface DashboardPage {
  html: string;
  /** Headers sent with every gateway response. */
  securityHeaders: Record<string, string>;
}

/**
 * Loads the page and derives its Content-Security-Policy. The page's inline <script>
 * and <style> are allowed by their SHA-256 hashes instead of 'unsafe-inline', so even
 * an injected inline script would not run; nothing may load from another origin.
 */
export function loadDashboard(file: URL = DASHBOARD_FILE): DashboardPage {
  const html = readFileSync(file, 'utf8');
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
