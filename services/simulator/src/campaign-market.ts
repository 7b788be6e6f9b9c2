import { hostPoolSize, SZ_SESSIONS_PER_DAY } from './calibration';
import {
  CAMPAIGN_CITIES,
  CAMPAIGN_PLATFORMS,
  SESSION,
  type CampaignCity,
  type CampaignDistrict,
  type CategoryName,
} from './campaign-profile';
import type { Rng } from './rng';

/** Weighted choice by binary search over cumulative weights. */
export class Picker<T> {
  private readonly cumulative: number[] = [];
  readonly total: number;

  constructor(
    readonly items: readonly T[],
    weight: (item: T) => number,
  ) {
    let s = 0;
    for (const item of items) this.cumulative.push((s += weight(item)));
    this.total = s;
  }

  pick(rng: Rng): T {
    return this.at(rng.next())[0];
  }

  /** The item at quantile u in [0, 1), and where u falls within that item's share (for nested choices). */
  at(u: number): [T, number] {
    const r = u * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    const below = lo === 0 ? 0 : this.cumulative[lo - 1]!;
    const rest = (r - below) / (this.cumulative[lo]! - below);
    return [this.items[lo]!, Math.min(Math.max(rest, 0), 1 - Number.EPSILON)];
  }
}

export interface MarketHost {
  /** `<city code>-h<popularity rank>`: sz-h1 is Shenzhen's most popular host. */
  id: string;
  platform: string;
  /** Zipf popularity: how often this host goes live. */
  popularity: number;
  /** Views per session relative to the district's average session (mean 1 over sessions). */
  viewFactor: number;
}

export interface MarketDistrict {
  profile: CampaignDistrict;
  hosts: Picker<MarketHost>;
  categories: Picker<CategoryName>;
}

export interface MarketCity {
  profile: CampaignCity;
  districts: Picker<MarketDistrict>;
  sessionsPerDay: number;
  hostCount: number;
}

const PLATFORMS = new Picker(CAMPAIGN_PLATFORMS, (p) => p.weight);

/** Splits `total` by weights (largest remainder), at least one each. */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map((x) => Math.max(1, Math.floor(x)));
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let left = total - out.reduce((a, b) => a + b, 0), k = 0; left > 0 && k < order.length; left--, k++)
    out[order[k]![1]]! += 1;
  return out;
}

/** Hosts of every city, with Zipf popularity ranks shuffled over the districts. */
export function buildMarket(rng: Rng, scale: number): MarketCity[] {
  return CAMPAIGN_CITIES.map((city) => {
    const counts = apportion(
      hostPoolSize(city, scale),
      city.districts.map((d) => d.hostWeight ?? d.weight),
    );
    const total = counts.reduce((a, b) => a + b, 0);
    const ranks = Array.from({ length: total }, (_, i) => i + 1);
    for (let i = ranks.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
    }
    let next = 0;
    const districts = city.districts.map((profile, d) => {
      const hosts: MarketHost[] = ranks.slice(next, (next += counts[d]!)).map((rank) => ({
        id: `${city.code}-h${rank}`,
        platform: PLATFORMS.pick(rng).value,
        popularity: rank ** -SESSION.zipfExponent,
        viewFactor: 0,
      }));
      // Sessions pick hosts by popularity; normalise so the mean session has factor 1.
      const pop = hosts.reduce((s, h) => s + h.popularity, 0);
      const mean = hosts.reduce((s, h) => s + (h.popularity / pop) * h.popularity ** SESSION.viewSkew, 0);
      for (const h of hosts) h.viewFactor = h.popularity ** SESSION.viewSkew / mean;
      const mix = Object.entries(profile.mix) as [CategoryName, number][];
      return {
        profile,
        hosts: new Picker(hosts, (h) => h.popularity),
        categories: new Picker(
          mix.map(([name]) => name),
          (name) => profile.mix[name] ?? 0,
        ),
      };
    });
    return {
      profile: city,
      districts: new Picker(districts, (d) => d.profile.weight),
      sessionsPerDay: SZ_SESSIONS_PER_DAY * city.factor * scale,
      hostCount: total,
    };
  });
}
