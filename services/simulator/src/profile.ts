/**
 * A Shenzhen-like market (see the seed article): ten districts, Luohu's Shuibei
 * gold-jewellery cluster, Bao'an's e-commerce bases, clothing, jewellery, eyewear
 * and electronics leading.
 */
export interface DistrictProfile {
  name: string;
  weight: number;
  /** Categories over-represented in this district's livestreams. */
  strengths: string[];
}

export const CITY = 'Shenzhen';

export const DISTRICTS: DistrictProfile[] = [
  { name: "Bao'an", weight: 20, strengths: ['clothing', 'electronics', 'home'] },
  { name: 'Longgang', weight: 16, strengths: ['clothing', 'electronics'] },
  { name: 'Luohu', weight: 14, strengths: ['jewellery'] },
  { name: 'Nanshan', weight: 13, strengths: ['electronics', 'beauty'] },
  { name: 'Futian', weight: 12, strengths: ['clothing', 'eyewear', 'beauty'] },
  { name: 'Longhua', weight: 10, strengths: ['electronics', 'eyewear'] },
  { name: 'Guangming', weight: 5, strengths: ['food'] },
  { name: 'Pingshan', weight: 4, strengths: ['home'] },
  { name: 'Yantian', weight: 3, strengths: ['food'] },
  { name: 'Dapeng', weight: 3, strengths: ['food'] },
];

export interface CategoryProfile {
  name: string;
  weight: number;
  /** Typical paid amount per item, fen. */
  minPriceFen: number;
  maxPriceFen: number;
  refundRate: number;
}

export const CATEGORIES: CategoryProfile[] = [
  { name: 'clothing', weight: 26, minPriceFen: 3_900, maxPriceFen: 59_900, refundRate: 0.12 },
  { name: 'jewellery', weight: 18, minPriceFen: 29_900, maxPriceFen: 1_299_900, refundRate: 0.05 },
  { name: 'electronics', weight: 18, minPriceFen: 9_900, maxPriceFen: 899_900, refundRate: 0.06 },
  { name: 'eyewear', weight: 12, minPriceFen: 4_900, maxPriceFen: 159_900, refundRate: 0.07 },
  { name: 'beauty', weight: 10, minPriceFen: 2_900, maxPriceFen: 69_900, refundRate: 0.04 },
  { name: 'home', weight: 9, minPriceFen: 1_900, maxPriceFen: 199_900, refundRate: 0.05 },
  { name: 'food', weight: 7, minPriceFen: 990, maxPriceFen: 29_900, refundRate: 0.02 },
];

export const PLATFORMS = [
  { value: 'douyin', weight: 45 },
  { value: 'taobao', weight: 25 },
  { value: 'kuaishou', weight: 15 },
  { value: 'jd', weight: 8 },
  { value: 'wechat', weight: 7 },
];
