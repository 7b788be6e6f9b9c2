// Small DOM helpers. Names and figures from the data go in as text only, never as HTML.
import { formatCount, isSafeInt } from '../format';

/** An element the page's markup always has; its absence is a bug in page.html. */
export function byId<T extends Element = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: #${id} is missing from the page`);
  return el as unknown as T;
}

export const byTestId = (testid: string): HTMLElement | null =>
  document.querySelector<HTMLElement>(`[data-testid="${testid}"]`);

export function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement('span');
  if (className) s.className = className;
  s.textContent = text;
  return s;
}

export function svgEl(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

export const reducedMotion = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

/** Flashes a changed figure. */
function bump(el: HTMLElement): void {
  if (reducedMotion) return;
  el.classList.remove('bump');
  void el.offsetWidth; // restarts the CSS animation
  el.classList.add('bump');
}

/** Shrinks an overflowing number until it fits its box (the layout must never break on a huge value). */
export function fit(el: HTMLElement | null): void {
  if (!el?.clientWidth) return;
  el.style.fontSize = '';
  const avail = el.clientWidth;
  const need = el.scrollWidth;
  if (need > avail)
    el.style.fontSize = `${Math.floor((parseFloat(getComputedStyle(el).fontSize) * avail * 0.97) / need)}px`;
}

/** Writes a number element: data-value holds the raw integer (money in fen), the text its formatted form. */
export function setNum(
  target: HTMLElement | string | null,
  value: unknown,
  format: (n: number) => string = formatCount,
): void {
  const el = typeof target === 'string' ? byTestId(target) : target;
  if (!el) return;
  const ok = isSafeInt(value);
  el.dataset.value = ok ? String(value) : '';
  const text = ok ? format(value) : '—';
  if (el.textContent !== text) {
    const grew = el.textContent?.length !== text.length;
    el.textContent = text;
    bump(el);
    if (grew && el.classList.contains('value')) fit(el);
  }
}
