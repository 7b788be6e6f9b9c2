import { byId } from './dom';

type NoticeKind = 'warn' | 'info';
const notices = new Map<string, { text: string; kind: NoticeKind }>();

/** Shows (or, with empty text, clears) one notice; all current ones share the banner, red unless all are info. */
export function setNotice(key: string, text: string, kind: NoticeKind = 'warn'): void {
  if (text) notices.set(key, { text, kind });
  else notices.delete(key);
  const el = byId('notice');
  const list = [...notices.values()];
  el.hidden = list.length === 0;
  el.textContent = list.map((n) => n.text).join(' · ');
  el.className = `notice${list.every((n) => n.kind === 'info') ? ' info' : ''}`;
}
