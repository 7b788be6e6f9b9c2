// Which campaign the screen shows, from the gateway's campaign API answers. Pure.

/** Campaign ids as the campaign API accepts them; anything else in ?campaign= is refused. */
export const CAMPAIGN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A campaign as GET /v1/campaigns[/:id] sends it, as far as the screen reads it; or only { id, name }. */
export interface CampaignView {
  id: string;
  name?: string;
  startsAt?: number;
  endsAt?: number;
  timeZone?: string;
  status?: string;
  filters?: Record<string, unknown>;
  targets?: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The campaign in a GET /v1/campaigns/:id body (bare or as { campaign }), if it is the one asked for. */
export function campaignFromBody(body: unknown, id: string): CampaignView | null {
  if (!isRecord(body)) return null;
  const c = isRecord(body.campaign) ? body.campaign : body;
  return c.id === id ? (c as unknown as CampaignView) : null;
}

/** The first active campaign whose window holds `now`, from a GET /v1/campaigns body (a list or { campaigns }). */
export function activeCampaign(body: unknown, now: number): CampaignView | null {
  const list: unknown[] = Array.isArray(body)
    ? body
    : isRecord(body) && Array.isArray(body.campaigns)
      ? body.campaigns
      : [];
  const found = list.find(
    (x) =>
      isRecord(x) &&
      x.status === 'active' &&
      typeof x.id === 'string' &&
      CAMPAIGN_ID.test(x.id) &&
      Number.isSafeInteger(x.startsAt) &&
      Number.isSafeInteger(x.endsAt) &&
      (x.startsAt as number) <= now &&
      now < (x.endsAt as number),
  );
  return found ? (found as CampaignView) : null;
}
