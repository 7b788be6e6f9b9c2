import categoriesJson from './market/campaign-categories.json' with { type: 'json' };
import citiesJson from './market/campaign-cities.json' with { type: 'json' };
import platformsJson from './market/platforms.json' with { type: 'json' };

/**
 * The market the campaign simulator plays: Shenzhen as the Shenzhen Daily article
 * (28 Nov 2024) describes it, plus the other cities of the national ranking.
 *
 * Published figures for Shenzhen, January–October 2024 (305 days): about 2.9 million
 * livestream sessions, 25.4 billion views, more than 16,000 hosts and 167.8 billion
 * yuan of sales; third nationwide on sessions, sales and hosts. The Livestreaming
 * E-commerce Month (23 Aug – 31 Oct 2024, 70 days) yielded 40.8 billion yuan.
 * Everything below that is not one of those figures is an assumption chosen to look
 * plausible; the calibration (calibration.ts) rescales conversion so that Shenzhen's
 * expected sales over the campaign month equal the published 40.8 billion yuan.
 */

export const SHENZHEN_FACTS = {
  janOctDays: 305,
  sessions: 2_900_000,
  views: 25_400_000_000,
  hosts: 16_000,
  salesYuan: 167_800_000_000,
  campaignFrom: '2024-08-23',
  /** Exclusive: the campaign ran up to and including 31 Oct. */
  campaignTo: '2024-11-01',
  campaignDays: 70,
  campaignSalesYuan: 40_800_000_000,
} as const;

export const CATEGORY_NAMES = ['clothing', 'jewellery', 'electronics', 'eyewear', 'beauty', 'home', 'food'] as const;
export type CategoryName = (typeof CATEGORY_NAMES)[number];

export interface CampaignCategory {
  name: CategoryName;
  /** Unit prices are log-uniform between these, in fen. */
  minPriceFen: number;
  maxPriceFen: number;
  /** Orders per view before calibration. */
  conversion: number;
  /** Share of orders refunded later. */
  refundRate: number;
}

export const CAMPAIGN_CATEGORIES: readonly CampaignCategory[] = categoriesJson.map((c) => ({
  ...c,
  name: categoryName(c.name),
}));

/** Session shares by category (any scale; they need not sum to 100). */
export type CategoryMix = Partial<Record<CategoryName, number>>;

export interface CampaignDistrict {
  name: string;
  /** Share of the city's sessions. */
  weight: number;
  /** Share of the city's hosts; defaults to `weight`. */
  hostWeight?: number;
  mix: CategoryMix;
  /** Unit-price multiplier per category (Shuibei gold is sold by the gram). */
  priceFactor?: CategoryMix;
}

export interface CampaignCity {
  name: string;
  /** Lower-case code used in host ids. */
  code: string;
  /** Sessions, views and hosts relative to Shenzhen. */
  factor: number;
  districts: CampaignDistrict[];
}

/**
 * The cities and their districts (market/campaign-cities.json), in the national ranking's
 * order: Hangzhou and Guangzhou ahead of Shenzhen, the rest behind. A district without
 * its own mix sells the general one. In Shenzhen, Bao'an holds the e-commerce bases (many
 * small hosts, clothing and electronics), Longgang Henggang's eyewear makers and
 * Bantian's electronics, Luohu the Shuibei gold-jewellery cluster.
 */
export const CAMPAIGN_CITIES: readonly CampaignCity[] = citiesJson.cities.map((city) => ({
  ...city,
  districts: city.districts.map((d) => campaignDistrict(d, citiesJson.generalMix)),
}));

export const SHENZHEN: CampaignCity = cityWithCode('sz');

export const CAMPAIGN_PLATFORMS = platformsJson;

/** The JSON form of a district: the mixes' keys are checked to be category names. */
interface DistrictData {
  name: string;
  weight: number;
  hostWeight?: number;
  mix?: Record<string, number>;
  priceFactor?: Record<string, number>;
}

function campaignDistrict(
  { name, weight, hostWeight, mix, priceFactor }: DistrictData,
  generalMix: Record<string, number>,
): CampaignDistrict {
  const district: CampaignDistrict = { name, weight, mix: categoryMix(mix ?? generalMix) };
  if (hostWeight !== undefined) district.hostWeight = hostWeight;
  if (priceFactor !== undefined) district.priceFactor = categoryMix(priceFactor);
  return district;
}

function categoryName(name: string): CategoryName {
  const known = CATEGORY_NAMES.find((c) => c === name);
  if (known === undefined) throw new Error(`simulator market data: unknown category ${JSON.stringify(name)}`);
  return known;
}

function categoryMix(mix: Record<string, number>): CategoryMix {
  for (const name of Object.keys(mix)) categoryName(name);
  return mix;
}

function cityWithCode(code: string): CampaignCity {
  const city = CAMPAIGN_CITIES.find((c) => c.code === code);
  if (!city) throw new Error(`simulator market data: no city with code ${code}`);
  return city;
}

/**
 * Session starts per Asia/Shanghai hour (relative). Sessions last 40 min to 6 h, so
 * events peak at 20:00–23:00 and are quiet from 03:00 to 08:00.
 */
export const START_CURVE: readonly number[] = [
  3, 1.5, 0.6, 0.25, 0.15, 0.15, 0.3, 0.7, 1.6, 3, 4, 4, 3.5, 3.5, 4, 4, 4.5, 5.5, 7.5, 11, 13, 11, 7, 4.5,
];

export const SESSION = {
  minDurationMs: 40 * 60_000,
  maxDurationMs: 6 * 3_600_000,
  /** Popular hosts draw more viewers per session: views ∝ popularity^this. */
  viewSkew: 0.5,
  /** Host popularity is Zipf over the city's hosts. */
  zipfExponent: 1.1,
  /** Smallest host pool per unit of city factor, whatever the scale. */
  minHosts: 60,
  /** Refunds arrive log-uniformly between these delays after the sale. */
  minRefundDelayMs: 5 * 60_000,
  maxRefundDelayMs: 72 * 3_600_000,
  /** Share of orders with more than one item (2–5). */
  multiItemShare: 0.15,
  /** Share of views followed by a like event from the same viewer: a batch of taps sent as one. */
  likeShare: 0.1,
  /** A like event stands for 1 to this many taps (log-uniform, rounded). */
  maxLikesPerEvent: 40,
  /**
   * A platform reports each live stream's views as one count per this interval (and its
   * likes as another), not one event per view: 60 s is what platform dashboards and
   * open APIs refresh at, and keeps Shenzhen's campaign month at ~100 million view
   * events at scale 1 instead of 5.8 billion.
   */
  viewTickMs: 60_000,
} as const;
