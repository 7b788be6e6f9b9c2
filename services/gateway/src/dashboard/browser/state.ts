// What the panels show right now, shared by the render modules.
import type { CampaignView } from '../campaigns';
import type { Totals } from '../figures';
import { DEFAULT_TIME_ZONE } from '../time';

export const view: {
  /** 'all' or 'campaign:<id>'. */
  scope: string;
  /** The campaign record, or { id, name } when its details are unavailable; null for all scopes. */
  campaign: CampaignView | null;
  /** The last totals frame shown ({} once cleared), for the pace panel. */
  totals: Totals | null;
} = { scope: 'all', campaign: null, totals: null };

export const timeZone = (): string => view.campaign?.timeZone || DEFAULT_TIME_ZONE;
