// The totals panels: the GMV hero and every row of TOTALS_FIGURES.
import { TOTALS_FIGURES } from '../figures';
import { setNum } from './dom';
import { setGmv } from './hero';
import { renderPace } from './pace-panel';
import { view } from './state';

/** A totals frame; null before the first one (shows —). */
export function renderTotals(frame: unknown): void {
  const t = typeof frame === 'object' && frame !== null ? (frame as Record<string, unknown>) : {};
  view.totals = t;
  setGmv(t.salesFen);
  for (const figure of TOTALS_FIGURES) setNum(figure.testid, figure.read(t), figure.format);
  renderPace();
}
