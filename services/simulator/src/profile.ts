import profileJson from './market/generator-profile.json' with { type: 'json' };
import platformsJson from './market/platforms.json' with { type: 'json' };

/**
 * A Shenzhen-like market (see the seed article): ten districts, Luohu's Shuibei
 * gold-jewellery cluster, Bao'an's e-commerce bases, clothing, jewellery, eyewear
 * and electronics leading. The figures are in market/generator-profile.json.
 */
export interface DistrictProfile {
  name: string;
  weight: number;
  /** Categories over-represented in this district's livestreams. */
  strengths: string[];
}

export const CITY = 'Shenzhen';

export const DISTRICTS: DistrictProfile[] = profileJson.districts;

export interface CategoryProfile {
  name: string;
  weight: number;
  /** Typical paid amount per item, fen. */
  minPriceFen: number;
  maxPriceFen: number;
  refundRate: number;
}

export const CATEGORIES: CategoryProfile[] = profileJson.categories;

export const PLATFORMS = platformsJson;
