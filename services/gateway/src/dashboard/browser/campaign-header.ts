// The header's campaign name, window and filter chips.
import { isSafeInt } from '../format';
import { label } from '../labels';
import { zoned } from '../time';
import { timeZone, view } from './state';
import { byId, span } from './dom';

const FILTER_DIMENSIONS = [
  ['city', 'cities'],
  ['district', 'districts'],
  ['category', 'categories'],
  ['platform', 'platforms'],
] as const;

export function renderCampaignHeader(): void {
  const name = byId('c-name');
  const meta = byId('c-meta');
  const campaign = view.campaign;
  name.textContent = '';
  meta.textContent = '';
  if (!campaign) {
    name.append('全网实时 ', span('en', 'All scopes, live'));
    meta.append(
      '无进行中的活动 No active campaign · 使用 ?campaign=<id> 打开活动大屏 open ?campaign=<id> for a campaign',
    );
    return;
  }
  name.append(campaign.name || campaign.id);
  if (campaign.name && campaign.name !== campaign.id) name.append(span('en', campaign.id));
  if (isSafeInt(campaign.startsAt) && isSafeInt(campaign.endsAt)) {
    const window = `${zoned(campaign.startsAt, true, timeZone())} → ${zoned(campaign.endsAt, true, timeZone())}`;
    meta.append(`活动时间 Window ${window} (${timeZone()})`);
  } else meta.append(`活动 Campaign ${campaign.id}`);
  const filters = campaign.filters ?? {};
  for (const [dim, key] of FILTER_DIMENSIONS) {
    const values = filters[key];
    for (const v of Array.isArray(values) ? values : [])
      meta.append(span('chip', label(dim, String(v)).filter(Boolean).join(' ')));
  }
}
