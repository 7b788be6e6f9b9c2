// The ranking panels, from the RANKINGS table; the national city panel also shows the home city's place.
import { HOME_CITY, RANKINGS } from '../figures';
import { formatYuan, isSafeInt } from '../format';
import { label } from '../labels';
import { byId, byTestId, setNum, span } from './dom';

interface Entry {
  name: string;
  value: number;
}

export function buildRankings(): void {
  const box = byId('rank');
  box.textContent = '';
  const template = byId<HTMLTemplateElement>('rank-tpl');
  for (const r of RANKINGS) {
    const panel = template.content.firstElementChild!.cloneNode(true) as HTMLElement;
    panel.querySelector('.zh')!.textContent = r.zh;
    panel.querySelector('.en')!.textContent = r.en;
    panel.querySelector('ol')!.dataset.testid = `ranking-${r.dim}`;
    panel.dataset.panel = `rank-${r.dim}`;
    if (r.national) {
      panel.classList.add('national');
      const foot = document.createElement('div');
      foot.className = 'city-foot';
      const big = span('big num', '—');
      big.id = 'city-foot-rank';
      const sub = span('sub', '');
      sub.id = 'city-foot-sub';
      foot.append(span('cap', '深圳 Shenzhen · 全国排名 national rank'), big, sub);
      panel.append(foot);
    }
    box.append(panel);
    renderRanking(r.dim, null);
  }
}

/** A ranking frame ({ top: [{ name, value }], members }); null before the first one. */
export function renderRanking(dim: string, frame: unknown): void {
  const ol = byTestId(`ranking-${dim}`);
  if (!ol) return;
  const data = typeof frame === 'object' && frame !== null ? (frame as { top?: unknown; members?: unknown }) : null;
  const top: Entry[] = Array.isArray(data?.top)
    ? (data.top as unknown[]).filter(
        (e): e is Entry =>
          typeof e === 'object' && e !== null && typeof (e as Entry).name === 'string' && isSafeInt((e as Entry).value),
      )
    : [];
  const members = isSafeInt(data?.members) ? data.members : undefined;
  ol.textContent = '';
  ol.dataset.members = members === undefined ? '' : String(members);
  const best = top.length ? Math.max(1, top[0]!.value) : 1;
  top.forEach((e, i) => {
    const li = document.createElement('li');
    li.dataset.testid = 'ranking-row';
    li.dataset.rank = String(i + 1);
    li.dataset.name = e.name;
    li.dataset.value = String(e.value);
    if (dim === 'city' && e.name === HOME_CITY) li.classList.add('me');
    const bg = span('bg', '');
    bg.style.width = `${Math.max(2, Math.min(100, (e.value * 100) / best))}%`;
    const [main, sub] = label(dim, e.name);
    const name = span('name', main);
    if (sub) name.append(Object.assign(document.createElement('small'), { textContent: sub }));
    name.title = e.name;
    li.append(bg, span('no', String(i + 1)), name, span('val num', formatYuan(e.value)));
    ol.append(li);
  });
  if (top.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = data ? '暂无数据 No data yet' : '—';
    ol.append(li);
  }
  if (dim === 'city') renderHomeCity(top, data ? (members ?? 0) : undefined);
}

/** The home city's national place: in the hero badge and at the foot of the city panel. */
function renderHomeCity(top: Entry[], members: number | undefined): void {
  const i = top.findIndex((e) => e.name === HOME_CITY);
  setNum(`rank-city-${HOME_CITY}`, i >= 0 ? i + 1 : undefined, (n) => `第${n}名 #${n}`);
  const foot = document.getElementById('city-foot-rank');
  if (foot)
    foot.textContent =
      i >= 0 ? `第 ${i + 1} 名` : members !== undefined && members > top.length ? `${top.length}名外` : '—';
  const sub = document.getElementById('city-foot-sub');
  if (sub)
    sub.textContent =
      members === undefined
        ? ''
        : members === 0
          ? '暂无排名 No ranking yet'
          : `${i >= 0 ? `No. ${i + 1} of ` : `below No. ${top.length} of `}${members} 城市 cities`;
}
