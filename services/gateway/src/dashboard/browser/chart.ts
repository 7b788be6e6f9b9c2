// GMV per minute, last 120 minutes: an SVG bar chart drawn to the panel's pixel size.
import { formatFenShort, isSafeInt, niceStep } from '../format';
import { zoned } from '../time';
import { byId, svgEl } from './dom';
import { timeZone } from './state';

const PAD = { left: 78, right: 8, top: 8, bottom: 24 };
const MINUTE = 60_000;
const TIME_LABEL_EVERY_MS = 30 * MINUTE;

let lastSeries: unknown = null;

const fenList = (v: unknown): number[] => (Array.isArray(v) ? v.map((x) => (isSafeInt(x) ? x : 0)) : []);

/** A series frame ({ start, stepMs, salesFen[], refundsFen[] }); null before the first one. */
export function renderSeries(frame: unknown): void {
  lastSeries = frame ?? null;
  const s = typeof frame === 'object' && frame !== null ? (frame as Record<string, unknown>) : null;
  const svg = byId<SVGSVGElement>('chart-svg');
  const W = Math.max(200, svg.clientWidth);
  const H = Math.max(80, svg.clientHeight);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.textContent = '';
  const defs = svgEl('defs', {});
  const grad = svgEl('linearGradient', { id: 'gmvGrad', x1: 0, y1: 0, x2: 0, y2: 1 });
  grad.append(
    svgEl('stop', { offset: '0%', 'stop-color': '#ffd666' }),
    svgEl('stop', { offset: '100%', 'stop-color': '#d4880f' }),
  );
  defs.append(grad);
  svg.append(defs);
  const sales = fenList(s?.salesFen);
  const refunds = fenList(s?.refundsFen);
  const n = sales.length;
  let total = 0;
  let max = 0;
  for (const v of sales) {
    total += v;
    if (v > max) max = v;
  }
  for (const v of refunds) if (v > max) max = v;
  svg.dataset.value = s ? String(total) : '';
  svg.dataset.points = String(n);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = niceStep(max);
  const steps = Math.max(1, Math.ceil(max / step));
  const top = step * steps;
  for (let i = 0; i <= steps; i++) {
    const y = PAD.top + plotH - (plotH * i) / steps;
    svg.append(svgEl('line', { class: 'grid-line', x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
    svg.append(svgEl('text', { x: PAD.left - 8, y: y + 4, 'text-anchor': 'end' }, formatFenShort(step * i)));
  }
  if (n > 0) {
    const slot = plotW / n;
    const bw = Math.max(1, slot * 0.72);
    const start = isSafeInt(s?.start) ? s.start : 0;
    const stepMs = isSafeInt(s?.stepMs) && s.stepMs > 0 ? s.stepMs : MINUTE;
    for (let i = 0; i < n; i++) {
      const x = PAD.left + i * slot + (slot - bw) / 2;
      const sale = sales[i]!;
      const refund = refunds[i] ?? 0;
      if (sale > 0) {
        const h = Math.max(1, (plotH * sale) / top);
        const cls = `bar-g${i === n - 1 ? ' now' : ''}`;
        svg.append(
          svgEl('rect', { class: cls, x, y: PAD.top + plotH - h, width: bw, height: h, rx: Math.min(2, bw / 3) }),
        );
      }
      if (refund > 0) {
        const h = Math.max(1, (plotH * refund) / top);
        svg.append(
          svgEl('rect', { class: 'bar-r', x: x + bw * 0.25, y: PAD.top + plotH - h, width: bw * 0.5, height: h }),
        );
      }
      const t = start + i * stepMs;
      if (start > 0 && t % TIME_LABEL_EVERY_MS === 0) {
        const mid = PAD.left + i * slot + slot / 2;
        const anchor = mid > W - PAD.right - 24 ? 'end' : 'middle';
        svg.append(
          svgEl(
            'text',
            { x: Math.min(mid, W - PAD.right), y: H - 6, 'text-anchor': anchor },
            zoned(t, false, timeZone()).slice(0, 5),
          ),
        );
      }
    }
  }
  if (total === 0) {
    const text = n === 0 ? '等待数据 Waiting for data…' : '近120分钟暂无成交 No sales in the last 120 min';
    svg.append(
      svgEl('text', { class: 'empty', x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, 'text-anchor': 'middle' }, text),
    );
  }
}

/** Redraws the last series at the panel's new size. */
export function redrawSeries(): void {
  renderSeries(lastSeries);
}
