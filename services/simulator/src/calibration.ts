import {
  CAMPAIGN_CATEGORIES,
  CAMPAIGN_CITIES,
  SESSION,
  SHENZHEN,
  SHENZHEN_FACTS,
  type CampaignCity,
  type CampaignDistrict,
  type CategoryName,
} from './campaign-profile';
import { logUniformMean } from './dist';
import { DAY_MS, formatShanghai } from './shanghai-time';

/**
 * Closed-form expectations of the campaign profile. Sessions per day and views per
 * session come straight from the January–October figures; the orders-per-view
 * conversion is scaled by one factor so that Shenzhen's expected sales over the
 * 70-day campaign month are exactly 40.8 billion yuan at scale 1. At scale s every
 * count (sessions, views, orders, refunds, sales) is s times the scale-1 figure;
 * only the host pools have a floor (SESSION.minHosts) so that small scales still
 * spread sessions over several hosts per city.
 */

export const VIEWS_PER_SESSION = SHENZHEN_FACTS.views / SHENZHEN_FACTS.sessions;
export const SZ_SESSIONS_PER_DAY = SHENZHEN_FACTS.sessions / SHENZHEN_FACTS.janOctDays;
export const SZ_TARGET_SALES_FEN_PER_DAY = (SHENZHEN_FACTS.campaignSalesYuan * 100) / SHENZHEN_FACTS.campaignDays;
/** 1 item, or 2–5 items (mean 3.5) for a multi-item order. */
export const MEAN_QUANTITY = 1 - SESSION.multiItemShare + SESSION.multiItemShare * 3.5;
export const MEAN_DURATION_MS = logUniformMean(SESSION.minDurationMs, SESSION.maxDurationMs);

const CATEGORY = new Map(CAMPAIGN_CATEGORIES.map((c) => [c.name, c]));

export function category(name: CategoryName) {
  return CATEGORY.get(name)!;
}

/** Mean unit price of a category as sold in a district, fen. */
export function meanUnitPriceFen(name: CategoryName, district: CampaignDistrict): number {
  const c = category(name);
  return logUniformMean(c.minPriceFen, c.maxPriceFen) * (district.priceFactor?.[name] ?? 1);
}

interface PerView {
  orders: number;
  salesFen: number;
  refunds: number;
  refundsFen: number;
}

/** Expected outcomes per view, by category, for a city or one of its districts (before calibration). */
function perView(city: CampaignCity, only?: string): Map<CategoryName, PerView> {
  const out = new Map<CategoryName, PerView>();
  const districts = city.districts.filter((d) => only === undefined || d.name === only);
  const total = districts.reduce((s, d) => s + d.weight, 0);
  for (const d of districts) {
    const mix = Object.entries(d.mix) as [CategoryName, number][];
    const mixTotal = mix.reduce((s, [, w]) => s + w, 0);
    for (const [name, w] of mix) {
      const share = (d.weight / total) * (w / mixTotal);
      const c = category(name);
      const sale = MEAN_QUANTITY * meanUnitPriceFen(name, d);
      const p = out.get(name) ?? { orders: 0, salesFen: 0, refunds: 0, refundsFen: 0 };
      p.orders += share * c.conversion;
      p.salesFen += share * c.conversion * sale;
      p.refunds += share * c.conversion * c.refundRate;
      p.refundsFen += share * c.conversion * c.refundRate * sale;
      out.set(name, p);
    }
  }
  return out;
}

const sum = (m: Map<CategoryName, PerView>, k: keyof PerView) => [...m.values()].reduce((s, p) => s + p[k], 0);

/** The one calibration factor: multiplies every category's orders-per-view. */
export const CONVERSION_SCALE =
  SZ_TARGET_SALES_FEN_PER_DAY / (SZ_SESSIONS_PER_DAY * VIEWS_PER_SESSION * sum(perView(SHENZHEN), 'salesFen'));

export interface DailyFigures {
  sessions: number;
  views: number;
  orders: number;
  salesFen: number;
  refunds: number;
  refundsFen: number;
  /** Likes (taps), sent in like events of 1 to SESSION.maxLikesPerEvent each. */
  likes: number;
  /** Start and end of every session, a view count and a like count per live interval, every sale and refund. */
  events: number;
}

/** Live intervals of the mean session: each sends one view-count event and one like event. */
const INTERVALS_PER_SESSION = MEAN_DURATION_MS / SESSION.viewTickMs;

/** Mean taps per like event: a log-uniform draw from 1 to the maximum, rounded. */
const LIKES_PER_EVENT = logUniformMean(1, SESSION.maxLikesPerEvent);

/** Expected figures per day for a city at a scale. */
export function cityDaily(city: CampaignCity, scale = 1): DailyFigures {
  const sessions = SZ_SESSIONS_PER_DAY * city.factor * scale;
  const views = sessions * VIEWS_PER_SESSION;
  const pv = perView(city);
  const k = views * CONVERSION_SCALE;
  const orders = k * sum(pv, 'orders');
  const refunds = k * sum(pv, 'refunds');
  return {
    sessions,
    views,
    orders,
    salesFen: k * sum(pv, 'salesFen'),
    refunds,
    refundsFen: k * sum(pv, 'refundsFen'),
    likes: views * SESSION.likeShare * LIKES_PER_EVENT,
    events: 2 * sessions + 2 * sessions * INTERVALS_PER_SESSION + orders + refunds,
  };
}

/** Expected sales per day by category in a city (or one district of it), fen. */
export function categorySalesFen(city: CampaignCity, scale = 1, district?: string): Map<CategoryName, number> {
  const pv = perView(city, district);
  const dShare =
    district === undefined
      ? 1
      : city.districts.find((d) => d.name === district)!.weight / city.districts.reduce((s, d) => s + d.weight, 0);
  const views = SZ_SESSIONS_PER_DAY * city.factor * scale * VIEWS_PER_SESSION * dShare;
  return new Map([...pv].map(([name, p]) => [name, views * CONVERSION_SCALE * p.salesFen]));
}

export function nationalDaily(scale = 1): DailyFigures {
  const out: DailyFigures = {
    sessions: 0,
    views: 0,
    orders: 0,
    salesFen: 0,
    refunds: 0,
    refundsFen: 0,
    likes: 0,
    events: 0,
  };
  for (const city of CAMPAIGN_CITIES) {
    const d = cityDaily(city, scale);
    for (const k of Object.keys(out) as (keyof DailyFigures)[]) out[k] += d[k];
  }
  return out;
}

export function hostPoolSize(city: CampaignCity, scale: number): number {
  return Math.max(Math.ceil(SESSION.minHosts * city.factor), Math.round(SHENZHEN_FACTS.hosts * city.factor * scale));
}

/** The scale at which the whole market averages this many events per second. */
export function scaleForRate(eventsPerSecond: number): number {
  return (eventsPerSecond * 86_400) / nationalDaily(1).events;
}

export interface Calibration {
  scale: number;
  from: number;
  to: number;
  days: number;
  nationalPerDay: DailyFigures;
  shenzhenPerDay: DailyFigures;
  /** Expected Shenzhen figures over the whole window. */
  shenzhen: DailyFigures;
  /** Expected events over the whole window, all cities. */
  events: number;
  shenzhenHosts: number;
}

export function calibrate(scale: number, from: number, to: number): Calibration {
  const days = (to - from) / DAY_MS;
  const shenzhenPerDay = cityDaily(SHENZHEN, scale);
  const nationalPerDay = nationalDaily(scale);
  const shenzhen = Object.fromEntries(
    Object.entries(shenzhenPerDay).map(([k, v]) => [k, v * days]),
  ) as unknown as DailyFigures;
  return {
    scale,
    from,
    to,
    days,
    nationalPerDay,
    shenzhenPerDay,
    shenzhen,
    events: nationalPerDay.events * days,
    shenzhenHosts: hostPoolSize(SHENZHEN, scale),
  };
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function describeCalibration(c: Calibration): string[] {
  return [
    `scale ${c.scale} (1 = the real market); window ${formatShanghai(c.from)} – ${formatShanghai(c.to)} Asia/Shanghai, ${c.days.toFixed(2)} days`,
    `all cities: ${n(c.nationalPerDay.events)} events/day (${n(c.nationalPerDay.views)} views, ${n(c.nationalPerDay.sessions)} sessions, ${n(c.nationalPerDay.orders)} orders), ${n(c.events)} events in the window`,
    `Shenzhen expected in the window: sales ${n(c.shenzhen.salesFen / 100)} yuan (= 40.8e9 x ${c.scale} x ${(c.days / SHENZHEN_FACTS.campaignDays).toFixed(3)} of the campaign), ` +
      `${n(c.shenzhen.views)} views, ${n(c.shenzhen.likes)} likes, ${n(c.shenzhen.sessions)} sessions, ${n(c.shenzhen.orders)} orders, refunds ${n(c.shenzhen.refundsFen / 100)} yuan; host pool ${c.shenzhenHosts}`,
    `conversion scale ${CONVERSION_SCALE.toFixed(4)}; ${VIEWS_PER_SESSION.toFixed(0)} views/session; Shenzhen ${n(c.shenzhenPerDay.salesFen / 100)} yuan/day`,
  ];
}
