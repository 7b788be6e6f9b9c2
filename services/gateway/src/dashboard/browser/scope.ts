// Which scope the screen shows: ?campaign=<id> pins it to that campaign; otherwise the first
// active campaign whose window is open, else all scopes.
import { activeCampaign, CAMPAIGN_ID, campaignFromBody, type CampaignView } from '../campaigns';
import { setNotice } from './notices';

const REQUEST_TIMEOUT_MS = 5_000;

export interface Scope {
  scope: string;
  campaign: CampaignView | null;
}

/** GET with the page's token; status 0 when the gateway could not be reached in time. */
async function getJson(path: string, token: string): Promise<{ status: number; body: unknown }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  try {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(path, { headers, cache: 'no-store', signal: ctl.signal });
    setNotice(
      'auth',
      res.status === 401
        ? '令牌无效或已过期 Token missing, invalid or expired — open the page with ?token=<token>'
        : '',
    );
    return { status: res.status, body: res.ok ? ((await res.json()) as unknown) : null };
  } catch {
    return { status: 0, body: null };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `pinned`: the ?campaign= value, or null without one. `shown`: the campaign on screen, kept
 * when a pinned campaign's details cannot be read again. Null: keep whatever is shown
 * (the gateway is unreachable or failing; retried later).
 */
export async function resolveScope(
  pinned: string | null,
  shown: CampaignView | null,
  token: string,
): Promise<Scope | null> {
  if (pinned !== null) {
    const id = pinned;
    if (!CAMPAIGN_ID.test(id)) {
      setNotice(
        'campaign',
        `无效的活动编号 Invalid campaign id ${JSON.stringify(id.slice(0, 64))} — showing all scopes`,
      );
      return { scope: 'all', campaign: null };
    }
    const r = await getJson(`/v1/campaigns/${encodeURIComponent(id)}`, token);
    const c = campaignFromBody(r.body, id);
    if (c) {
      setNotice('campaign', '');
      return { scope: `campaign:${id}`, campaign: c };
    }
    setNotice(
      'campaign',
      r.status === 404
        ? `未找到活动 ${id} 的详情 Campaign details not found — live figures only`
        : '活动详情暂不可用 Campaign details unavailable — live figures only',
      'info',
    );
    return { scope: `campaign:${id}`, campaign: shown?.id === id ? shown : { id, name: id } };
  }
  const r = await getJson('/v1/campaigns', token);
  if (r.status === 0 || r.status >= 500) return null;
  const c = activeCampaign(r.body, Date.now());
  return c ? { scope: `campaign:${c.id}`, campaign: c } : { scope: 'all', campaign: null };
}
