// The GMV hero: ticks towards each new value in integer fen steps (BigInt, never a float).
import { isSafeInt, splitFen } from '../format';
import { byId, byTestId, fit, reducedMotion } from './dom';

const TICK_MS = 900;
let shown: number | null = null;
let frame = 0;

function draw(fen: number): void {
  const p = splitFen(fen);
  if (!p) return;
  const yuan = byId('gmv-yuan');
  const before = yuan.textContent?.length;
  yuan.textContent = p.sign + p.yuan;
  byId('gmv-fen').textContent = p.fen;
  shown = fen;
  if (yuan.textContent.length !== before) fit(byTestId('gmv'));
}

export function setGmv(fen: unknown): void {
  const el = byTestId('gmv');
  cancelAnimationFrame(frame);
  if (!el) return;
  if (!isSafeInt(fen)) {
    el.dataset.value = '';
    return;
  }
  el.dataset.value = String(fen);
  if (shown === null || shown === fen || reducedMotion || document.hidden) {
    draw(fen);
    return;
  }
  const from = BigInt(shown);
  const delta = BigInt(fen) - from;
  const t0 = performance.now();
  const step = (t: number) => {
    const k = Math.min(1000, Math.floor(((t - t0) * 1000) / TICK_MS));
    const eased = 1000 - Math.floor((1000 - k) ** 3 / 1_000_000); // ease-out cubic, in permille
    draw(Number(from + (delta * BigInt(eased)) / 1000n));
    if (k < 1000) frame = requestAnimationFrame(step);
  };
  frame = requestAnimationFrame(step);
}

/** The next value is drawn at once rather than ticked to (a new scope's figures are not a change). */
export function forgetGmv(): void {
  shown = null;
}
