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

export type CategoryName = 'clothing' | 'jewellery' | 'electronics' | 'eyewear' | 'beauty' | 'home' | 'food';

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

export const CAMPAIGN_CATEGORIES: readonly CampaignCategory[] = [
  { name: 'clothing', minPriceFen: 3_900, maxPriceFen: 59_900, conversion: 0.03, refundRate: 0.15 },
  { name: 'jewellery', minPriceFen: 19_900, maxPriceFen: 999_900, conversion: 0.003, refundRate: 0.06 },
  { name: 'electronics', minPriceFen: 9_900, maxPriceFen: 899_900, conversion: 0.0035, refundRate: 0.07 },
  { name: 'eyewear', minPriceFen: 5_900, maxPriceFen: 199_900, conversion: 0.011, refundRate: 0.08 },
  { name: 'beauty', minPriceFen: 2_900, maxPriceFen: 59_900, conversion: 0.022, refundRate: 0.05 },
  { name: 'home', minPriceFen: 1_900, maxPriceFen: 99_900, conversion: 0.016, refundRate: 0.06 },
  { name: 'food', minPriceFen: 990, maxPriceFen: 19_900, conversion: 0.04, refundRate: 0.02 },
];

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

const GENERAL: CategoryMix = {
  clothing: 30,
  beauty: 18,
  food: 16,
  home: 14,
  electronics: 10,
  jewellery: 7,
  eyewear: 5,
};
const one = (name: string, weight: number, mix: CategoryMix = GENERAL): CampaignDistrict => ({ name, weight, mix });

export const SHENZHEN: CampaignCity = {
  name: 'Shenzhen',
  code: 'sz',
  factor: 1,
  districts: [
    // E-commerce bases: many small hosts, clothing and electronics.
    {
      name: "Bao'an",
      weight: 24,
      hostWeight: 34,
      mix: { clothing: 36, electronics: 30, home: 12, beauty: 7, eyewear: 5, jewellery: 5, food: 5 },
    },
    // Henggang's eyewear makers, Bantian's electronics.
    {
      name: 'Longgang',
      weight: 17,
      mix: { clothing: 25, eyewear: 25, electronics: 20, home: 12, beauty: 8, jewellery: 5, food: 5 },
    },
    {
      name: 'Nanshan',
      weight: 13,
      mix: { electronics: 40, beauty: 20, clothing: 15, eyewear: 8, home: 7, jewellery: 5, food: 5 },
    },
    {
      name: 'Futian',
      weight: 12,
      mix: { clothing: 30, beauty: 20, eyewear: 15, jewellery: 15, electronics: 10, food: 5, home: 5 },
    },
    // The Shuibei gold-jewellery cluster.
    {
      name: 'Luohu',
      weight: 11,
      mix: { jewellery: 65, clothing: 10, beauty: 10, eyewear: 5, food: 5, electronics: 3, home: 2 },
      priceFactor: { jewellery: 1.6 },
    },
    {
      name: 'Longhua',
      weight: 12,
      mix: { electronics: 35, clothing: 20, eyewear: 15, home: 15, beauty: 5, jewellery: 5, food: 5 },
    },
    {
      name: 'Guangming',
      weight: 4,
      mix: { food: 30, home: 25, clothing: 20, electronics: 15, beauty: 5, eyewear: 3, jewellery: 2 },
    },
    {
      name: 'Pingshan',
      weight: 3,
      mix: { home: 30, food: 25, electronics: 20, clothing: 15, beauty: 5, eyewear: 3, jewellery: 2 },
    },
    {
      name: 'Yantian',
      weight: 2,
      mix: { food: 40, home: 20, clothing: 20, beauty: 10, electronics: 5, eyewear: 3, jewellery: 2 },
    },
    {
      name: 'Dapeng',
      weight: 2,
      mix: { food: 50, home: 15, clothing: 15, beauty: 10, jewellery: 5, electronics: 3, eyewear: 2 },
    },
  ],
};

/** The national ranking: Hangzhou and Guangzhou ahead of Shenzhen, the rest behind. */
export const CAMPAIGN_CITIES: readonly CampaignCity[] = [
  {
    name: 'Hangzhou',
    code: 'hz',
    factor: 2,
    districts: [
      one('Yuhang', 40, { clothing: 40, beauty: 18, home: 12, food: 10, electronics: 8, jewellery: 7, eyewear: 5 }),
      one('Xiaoshan', 20),
      one('Binjiang', 20),
      one('Gongshu', 20),
    ],
  },
  {
    name: 'Guangzhou',
    code: 'gz',
    factor: 1.6,
    districts: [
      one('Baiyun', 30, { clothing: 45, beauty: 25, home: 10, food: 8, electronics: 6, jewellery: 3, eyewear: 3 }),
      one('Panyu', 25, { jewellery: 40, clothing: 25, beauty: 15, home: 8, food: 6, electronics: 4, eyewear: 2 }),
      one('Tianhe', 25),
      one('Haizhu', 20),
    ],
  },
  SHENZHEN,
  {
    name: 'Shanghai',
    code: 'sh',
    factor: 0.75,
    districts: [
      one('Pudong', 40, { beauty: 28, clothing: 28, food: 12, electronics: 12, home: 10, jewellery: 6, eyewear: 4 }),
      one('Minhang', 20),
      one("Jing'an", 20),
      one('Xuhui', 20),
    ],
  },
  {
    name: 'Beijing',
    code: 'bj',
    factor: 0.6,
    districts: [
      one('Chaoyang', 45),
      one('Haidian', 35, { electronics: 30, clothing: 20, beauty: 15, food: 15, home: 10, jewellery: 5, eyewear: 5 }),
      one('Dongcheng', 20),
    ],
  },
  {
    name: 'Chengdu',
    code: 'cd',
    factor: 0.45,
    districts: [
      one('Wuhou', 50, { food: 30, clothing: 28, beauty: 15, home: 12, electronics: 7, jewellery: 5, eyewear: 3 }),
      one('Jinjiang', 50),
    ],
  },
  {
    name: 'Jinhua',
    code: 'jh',
    factor: 0.4,
    districts: [
      one('Yiwu', 100, { home: 40, clothing: 25, food: 12, beauty: 10, electronics: 6, jewellery: 4, eyewear: 3 }),
    ],
  },
  { name: 'Wuhan', code: 'wh', factor: 0.3, districts: [one('Jianghan', 50), one('Hongshan', 50)] },
  { name: 'Changsha', code: 'cs', factor: 0.25, districts: [one('Yuelu', 50), one('Furong', 50)] },
  { name: "Xi'an", code: 'xa', factor: 0.2, districts: [one('Yanta', 100)] },
];

export const CAMPAIGN_PLATFORMS = [
  { value: 'douyin', weight: 45 },
  { value: 'taobao', weight: 25 },
  { value: 'kuaishou', weight: 15 },
  { value: 'jd', weight: 8 },
  { value: 'wechat', weight: 7 },
];

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
