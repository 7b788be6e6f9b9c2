import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleDashboardScript, DASHBOARD_TEMPLATE, loadDashboard, renderDashboardHtml } from './dashboard';

// The page as served: page.html with main.ts bundled into its one inline script. The
// script's pure parts are unit-tested beside them in ./dashboard/.
const { html } = loadDashboard();

describe('dashboard page', () => {
  const { securityHeaders } = loadDashboard();
  const csp = securityHeaders['content-security-policy']!;

  it('is one self-contained file whose inline script and style the CSP allows by hash', () => {
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    const styles = [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/g)];
    expect([scripts.length, styles.length]).toEqual([1, 1]);
    for (const [whole, body] of [...scripts, ...styles]) {
      expect(whole).toMatch(/^<(script|style)>/); // no attributes, or dashboard.ts would not hash it
      const hash = `'sha256-${createHash('sha256').update(body!, 'utf8').digest('base64')}'`;
      expect(csp).toContain(hash);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(
      csp
        .split(';')
        .map((d) => d.trim())
        .filter((d) => d.startsWith('connect-src')),
    ).toEqual(["connect-src 'self'"]);
  });

  it('loads nothing from elsewhere and uses nothing the CSP would block', () => {
    expect(html).not.toMatch(/\ssrc=/i);
    expect([...html.matchAll(/\shref="([^"]*)"/gi)].map((m) => m[1])).toEqual(['data:,']);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:|\/\/)/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // the SVG namespace is a name, not a request
    expect(html).not.toMatch(/\sstyle="/i); // inline style attributes are blocked by a hash-only style-src
    expect(html).not.toMatch(/\son[a-z]+="/i); // inline event handlers are blocked too
    expect(html).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write|eval\(/); // names from the data go in as text only
  });

  it('gives every figure a stable data-testid with a data-value', () => {
    for (const id of [
      'gmv',
      'net-gmv',
      'refunds-fen',
      'views',
      'unique-viewers',
      'sessions',
      'sessions-ended',
      'live-sessions',
      'active-hosts',
      'orders',
      'items',
      'refunds',
      'rank-city-Shenzhen',
      'chart',
    ]) {
      expect(html, id).toMatch(new RegExp(`data-testid="${id}"[^>]*data-value=""`));
    }
    expect(html).toContain('data-testid="status" data-state="connecting"');
  });
});

describe('dashboard build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-dashboard-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return pathToFileURL(join(dir, name));
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves page.html with the bundle of main.ts in place of the marker, as one classic script', () => {
    const template = readFileSync(DASHBOARD_TEMPLATE, 'utf8');
    const script = bundleDashboardScript();
    expect(html).toBe(template.replace(/<!-- the script: [^>]*-->/, () => `<script>${script}</script>`));
    expect(script).not.toMatch(/^\s*(import|export)\s/m); // no module syntax left: it runs as a classic script
    expect(script).toContain('/v1/live');
  });

  it('bundles imports into the page and refuses code that would end the script early', () => {
    file('helper.ts', "export const greeting = (name: string): string => 'hello ' + name;\n");
    const entry = file('entry.ts', "import { greeting } from './helper';\nconsole.log(greeting('page'));\n");
    expect(bundleDashboardScript(entry)).toContain('hello ');
    const closing = file('closing.ts', "console.log('</' + 'script>', '</script>');\n");
    expect(bundleDashboardScript(closing)).not.toContain('</script'); // esbuild escapes it in strings
    const comment = file('comment.ts', "console.log('<!' + '--');\n"); // folded into one string by the minifier
    expect(() => bundleDashboardScript(comment)).toThrow(/cannot be inlined/);
  });

  it('fails start-up with the file at fault: a template without the marker, or a script that does not compile', () => {
    const entry = file('ok.ts', 'console.log(1);\n');
    const noMarker = file('page.html', '<html><body></body></html>');
    expect(() => renderDashboardHtml(noMarker, entry)).toThrow(/page\.html must hold the script marker exactly once/);
    const broken = file('broken.ts', 'const x: number = ;\n');
    expect(() => renderDashboardHtml(DASHBOARD_TEMPLATE, broken)).toThrow(
      /^dashboard: bundling .*broken\.ts failed: .*broken\.ts:1:/s,
    );
  });
});
