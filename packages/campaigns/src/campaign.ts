import type { EventBase } from '@livetally/events';

/** A named event-time window with optional filters and targets, e.g. the Livestreaming E-commerce Month. */
export interface Campaign {
  id: string;
  name: string;
  /** Inclusive start, ms since epoch. */
  startsAt: number;
  /** Exclusive end, ms since epoch. */
  endsAt: number;
  /** IANA zone for day boundaries on screens and in history. */
  timeZone: string;
  filters: CampaignFilters;
  targets: CampaignTargets;
  status: 'active' | 'ended';
  createdAt: number;
  updatedAt: number;
  /** Bumped on every change; the newest version wins everywhere. */
  version: number;
}

export interface CampaignFilters {
  cities?: string[];
  districts?: string[];
  categories?: string[];
  platforms?: string[];
}

export interface CampaignTargets {
  gmvFen?: number;
  views?: number;
  sessions?: number;
  hosts?: number;
}

export function matchesCampaign(campaign: Campaign, event: EventBase): boolean {
  if (event.ts < campaign.startsAt || event.ts >= campaign.endsAt) return false;
  const f = campaign.filters;
  return inList(f.cities, event.city) && inList(f.districts, event.district) && inList(f.categories, event.category) && inList(f.platforms, event.platform);
}

function inList(list: string[] | undefined, value: string): boolean {
  return list === undefined || list.length === 0 || list.includes(value);
}

/** Indexes campaigns for the per-event hot path: a sorted window scan, then filters. */
export class CampaignMatcher {
  private readonly campaigns: Campaign[];

  constructor(campaigns: readonly Campaign[]) {
    this.campaigns = [...campaigns].sort((a, b) => a.startsAt - b.startsAt);
  }

  get size(): number {
    return this.campaigns.length;
  }

  /** Scope names (`campaign:<id>`) the event counts towards. */
  scopesFor(event: EventBase): string[] {
    const out: string[] = [];
    for (const c of this.campaigns) {
      if (c.startsAt > event.ts) break;
      if (matchesCampaign(c, event)) out.push(`campaign:${c.id}`);
    }
    return out;
  }
}
