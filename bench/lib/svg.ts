/**
 * Hand-written SVG charts (no chart library): a horizontal bar chart on a log scale for
 * throughput, and grouped vertical bar panels for latencies. Plain SVG 1.1, fonts from
 * the viewer, so the files render on GitHub and in any browser.
 */

const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"';
export const PALETTE = ['#2563eb', '#f59e0b', '#dc2626', '#16a34a', '#7c3aed', '#0891b2'];

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r1 = (n: number) => Math.round(n * 10) / 10;

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}" ${FONT} ${attrs}>${esc(s)}</text>`;
}

export function compact(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 1e6) return `${r1(n / 1e6)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${r1(n / 1e3)}k`;
  if (n >= 100) return String(Math.round(n));
  return String(r1(n));
}

function document(width: number, height: number, body: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="#ffffff"/>
${body.join('\n')}
</svg>
`;
}

export interface HBar {
  label: string;
  value: number;
  note?: string;
  color?: string;
}

/** Horizontal bars on a log10 axis, with an optional dashed reference line. */
export function logBarChart(opts: {
  title: string;
  subtitle: string[];
  unit: string;
  bars: HBar[];
  reference?: { value: number; label: string };
}): string {
  const width = 900;
  const left = 250;
  const right = 150;
  const top = 74 + opts.subtitle.length * 16;
  const barH = 34;
  const gap = 16;
  const plotW = width - left - right;
  const height = top + opts.bars.length * (barH + gap) + 56;
  const values = opts.bars.map((b) => b.value).filter((v) => Number.isFinite(v) && v > 0);
  // Half a decade of room below the smallest bar, so that it still shows.
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, opts.reference?.value ?? Infinity, 10) / 3)));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, opts.reference?.value ?? 0, 100) * 1.05)));
  const x = (v: number) =>
    left + (plotW * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const body: string[] = [text(20, 30, opts.title, 'font-size="18" font-weight="600" fill="#111827"')];
  opts.subtitle.forEach((s, i) => body.push(text(20, 50 + i * 16, s, 'font-size="12" fill="#4b5563"')));
  const plotBottom = top + opts.bars.length * (barH + gap);
  for (let d = lo; d <= hi; d *= 10) {
    body.push(`<line x1="${r1(x(d))}" y1="${top - 6}" x2="${r1(x(d))}" y2="${plotBottom}" stroke="#e5e7eb"/>`);
    body.push(text(x(d), plotBottom + 16, compact(d), 'font-size="11" fill="#6b7280" text-anchor="middle"'));
    for (let m = 2; m < 10 && d * m < hi; m++)
      body.push(
        `<line x1="${r1(x(d * m))}" y1="${top - 6}" x2="${r1(x(d * m))}" y2="${plotBottom}" stroke="#f3f4f6"/>`,
      );
  }
  body.push(
    text(
      left + plotW / 2,
      plotBottom + 34,
      `${opts.unit} (log scale)`,
      'font-size="12" fill="#374151" text-anchor="middle"',
    ),
  );
  opts.bars.forEach((b, i) => {
    const y = top + i * (barH + gap);
    body.push(text(left - 10, y + barH / 2 + 4, b.label, 'font-size="13" fill="#111827" text-anchor="end"'));
    if (Number.isFinite(b.value) && b.value > 0) {
      body.push(
        `<rect x="${left}" y="${y}" width="${r1(Math.max(1, x(b.value) - left))}" height="${barH}" rx="3" fill="${b.color ?? PALETTE[i % PALETTE.length]}"/>`,
      );
      body.push(
        text(
          x(b.value) + 6,
          y + barH / 2 + 4,
          `${compact(b.value)}${b.note ? `  ${b.note}` : ''}`,
          'font-size="12" fill="#111827"',
        ),
      );
    } else {
      body.push(text(left + 6, y + barH / 2 + 4, 'not measured', 'font-size="12" fill="#9ca3af"'));
    }
  });
  if (opts.reference && Number.isFinite(opts.reference.value) && opts.reference.value > 0) {
    const rx = x(opts.reference.value);
    body.push(
      `<line x1="${r1(rx)}" y1="${top - 10}" x2="${r1(rx)}" y2="${plotBottom}" stroke="#111827" stroke-dasharray="5,4"/>`,
    );
    body.push(text(rx, top - 14, opts.reference.label, 'font-size="11" fill="#111827" text-anchor="middle"'));
  }
  return document(width, height, body);
}

export interface Group {
  label: string;
  /** One value per series; NaN = not measured. */
  values: number[];
}

export interface Panel {
  title: string;
  unit: string;
  series: string[];
  groups: Group[];
  reference?: { value: number; label: string };
  /** Width in px (default 460). */
  width?: number;
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel(p: Panel, x0: number, y0: number, w: number, h: number): string[] {
  const body: string[] = [text(x0, y0, p.title, 'font-size="14" font-weight="600" fill="#111827"')];
  const left = x0 + 52;
  const top = y0 + 34;
  const plotW = w - 60;
  const plotH = h - 110;
  const all = p.groups.flatMap((g) => g.values).filter(Number.isFinite);
  const max = niceMax(Math.max(...all, p.reference?.value ?? 0) * 1.08);
  const y = (v: number) => top + plotH - (plotH * Math.min(v, max)) / max;
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    body.push(
      `<line x1="${left}" y1="${r1(y(v))}" x2="${left + plotW}" y2="${r1(y(v))}" stroke="${i === 0 ? '#9ca3af' : '#e5e7eb'}"/>`,
    );
    body.push(text(left - 6, y(v) + 4, compact(v), 'font-size="11" fill="#6b7280" text-anchor="end"'));
  }
  body.push(text(x0, top - 10, p.unit, 'font-size="11" fill="#374151"'));
  const groupW = plotW / Math.max(1, p.groups.length);
  const barW = Math.min(28, (groupW * 0.8) / Math.max(1, p.series.length));
  p.groups.forEach((g, gi) => {
    const gx = left + gi * groupW + (groupW - barW * p.series.length) / 2;
    g.values.forEach((v, si) => {
      const bx = gx + si * barW;
      if (!Number.isFinite(v)) return;
      body.push(
        `<rect x="${r1(bx)}" y="${r1(y(v))}" width="${r1(barW - 2)}" height="${r1(Math.max(1, top + plotH - y(v)))}" fill="${PALETTE[si % PALETTE.length]}"/>`,
      );
      if (barW >= 16)
        body.push(text(bx + (barW - 2) / 2, y(v) - 3, compact(v), 'font-size="9" fill="#374151" text-anchor="middle"'));
    });
    const lines = g.label.split('\n');
    lines.forEach((line, li) =>
      body.push(
        text(
          left + gi * groupW + groupW / 2,
          top + plotH + 16 + li * 13,
          line,
          'font-size="11" fill="#111827" text-anchor="middle"',
        ),
      ),
    );
  });
  if (p.reference && p.reference.value <= max) {
    body.push(
      `<line x1="${left}" y1="${r1(y(p.reference.value))}" x2="${left + plotW}" y2="${r1(y(p.reference.value))}" stroke="#111827" stroke-dasharray="5,4"/>`,
    );
    body.push(
      text(
        left + plotW,
        y(p.reference.value) - 4,
        p.reference.label,
        'font-size="11" fill="#111827" text-anchor="end"',
      ),
    );
  }
  p.series.forEach((s, si) => {
    const lx = left + si * 90;
    const ly = top + plotH + 50;
    body.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${PALETTE[si % PALETTE.length]}"/>`);
    body.push(text(lx + 14, ly, s, 'font-size="11" fill="#374151"'));
  });
  return body;
}

/** Panels side by side under one title. */
export function panelsChart(opts: { title: string; subtitle: string[]; panels: Panel[] }): string {
  const head = 50 + opts.subtitle.length * 16;
  const height = head + 360;
  const body: string[] = [text(20, 30, opts.title, 'font-size="18" font-weight="600" fill="#111827"')];
  opts.subtitle.forEach((s, i) => body.push(text(20, 50 + i * 16, s, 'font-size="12" fill="#4b5563"')));
  let x = 20;
  for (const p of opts.panels) {
    const w = p.width ?? 460;
    body.push(...panel(p, x, head + 20, w, 340));
    x += w + 30;
  }
  return document(x, height, body);
}
