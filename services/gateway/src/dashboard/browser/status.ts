// The connection badge, the offline notice, and the stale marks on panels.
import { zoned } from '../time';
import { byId } from './dom';
import { setNotice } from './notices';
import { timeZone } from './state';

export type ConnectionState = 'connecting' | 'reconnecting' | 'live';

let offlineSince = 0;

/** `retrying`: a connection was lost (or never made) before, so the figures on screen may be old. */
export function setStatus(state: ConnectionState, text: string, retrying: boolean): void {
  byId('status').dataset.state = state;
  byId('status-text').textContent = text;
  if (state === 'live') {
    offlineSince = 0;
    setNotice('offline', '');
  } else if (retrying) {
    offlineSince = offlineSince || Date.now();
    const since = zoned(offlineSince, false, timeZone());
    setNotice(
      'offline',
      `连接中断，数据可能已过期（自 ${since}） Connection lost — figures may be stale since ${since}`,
    );
  }
}

/** Dims every panel whose role has no snapshot on the current connection. */
export function refreshStale(isFresh: (role: string) => boolean): void {
  let any = false;
  for (const el of document.querySelectorAll<HTMLElement>('[data-panel]')) {
    const stale = !isFresh(el.dataset.panel ?? '');
    el.dataset.stale = String(stale);
    any = any || stale;
  }
  document.body.dataset.anyStale = String(any);
}
