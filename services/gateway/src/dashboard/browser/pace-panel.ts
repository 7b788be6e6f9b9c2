// Pace against the campaign's targets: one row per target from the TARGETS table, and the
// share of the campaign window elapsed.
import { TARGETS, type Target } from '../figures';
import { formatBp, formatCount, formatCountShort, formatFen, formatFenShort, isSafeInt } from '../format';
import { paceOf, type PaceStatus } from '../pace';
import { byId, byTestId, span } from './dom';
import { view } from './state';

const STATUS_TEXT: Record<PaceStatus, string> = {
  ahead: '领先 Ahead',
  behind: '落后 Behind',
  met: '已达成 Met',
  missed: '未达成 Missed',
  not_started: '未开始 Not started',
};
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** The rows on screen were built for this campaign window and these targets. */
let builtFor = '';

/** Rebuilds the rows on the next render (the campaign record may have changed). */
export function rebuildPace(): void {
  builtFor = '';
}

interface TimedCampaign {
  id: string;
  startsAt: number;
  endsAt: number;
  targets: Record<string, number>;
}

export function renderPace(): void {
  const c = view.campaign;
  const timed = c !== null && isSafeInt(c.startsAt) && isSafeInt(c.endsAt) && c.endsAt > c.startsAt;
  const targets = timed
    ? TARGETS.filter((t) => {
        const v = c.targets?.[t.key];
        return isSafeInt(v) && v > 0;
      })
    : [];
  const campaign = timed ? ({ ...c, targets: c.targets ?? {} } as TimedCampaign) : null;
  const now = Date.now();
  byId('elapsed').hidden = !campaign;
  if (campaign) renderElapsed(campaign, now);
  const key =
    (c ? `${c.id}|${c.startsAt}|${c.endsAt}|` : '') +
    targets.map((t) => `${t.key}=${campaign?.targets[t.key]}`).join(',');
  if (key !== builtFor) {
    builtFor = key;
    buildRows(targets, campaign);
  }
  if (campaign) for (const t of targets) renderRow(t, campaign, now);
  byId('pace-aside').textContent = targets.length ? '白线 = 时间进度 white line = time elapsed' : '';
}

function renderElapsed(c: TimedCampaign, now: number): void {
  const elapsedBp = paceOf(0, 1, c.startsAt, c.endsAt, now).elapsedBp;
  byId('elapsed').dataset.value = String(elapsedBp);
  byId('elapsed-fill').style.width = `${elapsedBp / 100}%`;
  const left = c.endsAt - now;
  const d = Math.floor(left / DAY);
  const h = Math.floor((left % DAY) / HOUR);
  const m = Math.floor((left % HOUR) / MINUTE);
  const when =
    now < c.startsAt
      ? ' · 未开始 not started'
      : left > 0
        ? ` · 剩余 ${d ? `${d}天 ` : ''}${h}小时 ${m}分 left`
        : ' · 已结束 ended';
  byId('elapsed-text').textContent = formatBp(elapsedBp) + when;
}

function buildRows(targets: readonly Target[], c: TimedCampaign | null): void {
  const list = byId('pace-list');
  list.textContent = '';
  if (!targets.length) {
    const p = document.createElement('div');
    p.className = 'pace-empty';
    p.textContent = !view.campaign
      ? '全网视图不设目标。No targets for the all-scopes view — open a campaign with ?campaign=<id>.'
      : !c
        ? `活动详情暂不可用 Campaign details unavailable — targets appear once GET /v1/campaigns/${view.campaign.id} answers.`
        : '本活动未设目标 This campaign has no targets.';
    list.append(p);
  }
  if (!c) return;
  for (const t of targets) {
    const row = document.createElement('div');
    row.className = 'pace-row';
    row.dataset.testid = `pace-${t.key}`;
    const nameEl = span('pace-name', t.zh);
    nameEl.append(span('en', t.en));
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.append(span('fill', ''), span('mark', ''), span('pct num', ''));
    const nums = span('pace-nums num', '');
    const target = c.targets[t.key]!;
    nums.append(span('actual', ''), ` / ${t.money ? formatFenShort(target) : formatCountShort(target)}`);
    row.append(nameEl, bar, nums, span('chip-status', ''));
    list.append(row);
  }
}

function renderRow(t: Target, c: TimedCampaign, now: number): void {
  const row = byTestId(`pace-${t.key}`);
  if (!row) return;
  const figure = view.totals?.[t.field];
  const actual = isSafeInt(figure) ? figure : 0;
  const p = paceOf(actual, c.targets[t.key]!, c.startsAt, c.endsAt, now);
  row.dataset.value = String(p.doneBp);
  row.dataset.actual = String(actual);
  row.dataset.status = p.status;
  row.querySelector<HTMLElement>('.fill')!.style.width = `${Math.min(10_000, p.doneBp) / 100}%`;
  row.querySelector<HTMLElement>('.mark')!.style.left = `${p.elapsedBp / 100}%`;
  row.querySelector('.pct')!.textContent = formatBp(p.doneBp);
  row.querySelector('.actual')!.textContent = t.money ? formatFenShort(actual) : formatCountShort(actual);
  row.querySelector('.chip-status')!.textContent = STATUS_TEXT[p.status];
  const full = t.money ? formatFen : formatCount;
  const gap = actual - p.expected;
  row.title = `完成 done ${formatBp(p.doneBp)} · 时间 elapsed ${formatBp(p.elapsedBp)} · 应达 expected ${full(p.expected)} (${gap >= 0 ? '+' : ''}${full(gap)})`;
}
