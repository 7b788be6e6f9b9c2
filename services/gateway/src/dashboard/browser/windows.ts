// The rolling windows table: one row per window, one cell per field.
import { WINDOW_FIELDS, WINDOWS } from '../figures';
import { formatCount, formatFen, isSafeInt } from '../format';
import { byId, setNum, span } from './dom';

export function buildWindows(): void {
  const body = byId('win-body');
  body.textContent = '';
  for (const w of WINDOWS) {
    const tr = document.createElement('tr');
    const first = document.createElement('td');
    first.append(w.zh, span('en', w.en));
    tr.append(first);
    for (const { field, money } of WINDOW_FIELDS) {
      const td = document.createElement('td');
      td.className = `num${money ? ' money' : ''}`;
      td.dataset.testid = `win-${w.key}-${field}`;
      td.dataset.value = '';
      td.textContent = '—';
      tr.append(td);
    }
    body.append(tr);
  }
}

/** A windows frame (window → field → integer); null before the first one (shows —). */
export function renderWindows(frame: unknown): void {
  const w = typeof frame === 'object' && frame !== null ? (frame as Record<string, unknown>) : null;
  for (const { key } of WINDOWS) {
    const win = (w?.[key] ?? {}) as Record<string, unknown>;
    for (const { field, money } of WINDOW_FIELDS) {
      const value = win[field];
      setNum(`win-${key}-${field}`, isSafeInt(value) ? value : w ? 0 : undefined, money ? formatFen : formatCount);
    }
  }
}
