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

/** A campaign as workers match events against it: with the staging scope while a backfill builds its figures aside. */
export interface CatalogueCampaign extends Campaign {
  /** The stored scope of its live figures (its live generation's, `campaign:<id>@<gen>`); default `campaign:<id>`. */
  liveScope?: string;
  /** Every event the campaign matches counts here too, until the backfill swaps this scope in (CampaignStaging). */
  stagingScope?: string;
}

/** The live scope of a campaign's figures. */
export function campaignScope(id: string): string {
  return `campaign:${id}`;
}

/**
 * Where a backfill of generation `gen` builds a campaign's new figures aside: the scope
 * that becomes live at the swap (ADR 0003; generationScope in @livetally/live-state).
 * `@` is outside the campaign id pattern, so no API or live channel can name it; its kind
 * is still `campaign`, so a rebuild deletes a leftover one like any campaign scope
 * without a campaign.
 */
export function stagingScope(id: string, gen: string): string {
  return `campaign:${id}@${gen}`;
}

/**
 * Which events a campaign covers (its window and filters) as one comparable string:
 * a change that leaves it equal (name, targets, time zone) needs no backfill. A filter
 * list is a set (order and repeats do not matter) and an empty list means no filter.
 */
export function coverageOf(campaign: Pick<Campaign, 'startsAt' | 'endsAt' | 'filters'>): string {
  const f = campaign.filters;
  const set = (list: string[] | undefined) => [...new Set(list ?? [])].sort();
  return JSON.stringify([
    campaign.startsAt,
    campaign.endsAt,
    set(f.cities),
    set(f.districts),
    set(f.categories),
    set(f.platforms),
  ]);
}

export function matchesCampaign(campaign: Campaign, event: EventBase): boolean {
  if (event.ts < campaign.startsAt || event.ts >= campaign.endsAt) return false;
  const f = campaign.filters;
  return (
    inList(f.cities, event.city) &&
    inList(f.districts, event.district) &&
    inList(f.categories, event.category) &&
    inList(f.platforms, event.platform)
  );
}

function inList(list: string[] | undefined, value: string): boolean {
  return list === undefined || list.length === 0 || list.includes(value);
}

/** Indexes campaigns for the per-event hot path: a sorted window scan, then filters. */
export class CampaignMatcher {
  private readonly campaigns: CatalogueCampaign[];

  constructor(campaigns: readonly CatalogueCampaign[]) {
    this.campaigns = [...campaigns].sort((a, b) => a.startsAt - b.startsAt);
  }

  get size(): number {
    return this.campaigns.length;
  }

  /** Scope names (`campaign:<id>`, and the staging scope during a backfill) the event counts towards. */
  scopesFor(event: EventBase): string[] {
    const out: string[] = [];
    for (const c of this.campaigns) {
      if (c.startsAt > event.ts) break;
      if (!matchesCampaign(c, event)) continue;
      out.push(c.liveScope ?? campaignScope(c.id));
      if (c.stagingScope !== undefined) out.push(c.stagingScope);
    }
    return out;
  }
}
