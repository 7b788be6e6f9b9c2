import { category, MEAN_DURATION_MS, MEAN_QUANTITY, meanUnitPriceFen } from './calibration';
import { buildLedgers, dayStart, type CityLedger } from './campaign-ledger';
import { buildMarket, type MarketCity, type MarketDistrict, type MarketHost } from './campaign-market';
import { SESSION, START_CURVE, type CategoryName } from './campaign-profile';
import { largestRemainder } from './dist';
import { Rng } from './rng';
import { DAY_MS, HOUR_MS } from './shanghai-time';

export type DailyCurve = 'shanghai' | 'flat';

/** The part of a session that falls on one Asia/Shanghai day, with the views and sales the day's ledger gave it. */
export interface SessionPiece {
  from: number;
  /** Exclusive. */
  to: number;
  views: number;
  salesFen: number;
}

export interface SessionPlan {
  /** `<city code><day>-<n>`: the n-th session (start order) a city starts on a ledger day; part of the stream id. */
  key: string;
  city: MarketCity;
  district: MarketDistrict;
  host: MarketHost;
  category: CategoryName;
  startTs: number;
  endTs: number;
  /** Views per ms relative to the mean session (popularity × nothing else): how the day's views are shared. */
  viewRate: number;
  /** Its share of each day it runs on, filled in as those days are planned (at most two: sessions last ≤ 6 h). */
  pieces: SessionPiece[];
  /** Seeds the session's own draws (order amounts and times, refunds). */
  seed: number;
}

const CURVE_TOTAL = START_CURVE.reduce((a, b) => a + b, 0);
/** Steps of a Kronecker sequence: 1, √2, √3 and √5 are independent over the rationals. */
const STEPS = [Math.SQRT2 - 1, Math.sqrt(3) - 1, Math.sqrt(5) - 2] as const;

/** Point `index` of a low-discrepancy sequence in [0, 1)³: mixes converge far faster than with independent draws. */
function kronecker(offsets: readonly number[], index: number): number[] {
  return STEPS.map((step, i) => {
    const x = (offsets[i]! + index * step) % 1;
    return x < 0 ? x + 1 : x;
  });
}

/** Time of day (ms) at which a quantile q ∈ [0, 1) of the day's session starts falls. */
function startOffset(curve: DailyCurve, q: number): number {
  if (curve === 'flat') return Math.floor(q * DAY_MS);
  let r = q * CURVE_TOTAL;
  for (let h = 0; h < 24; h++) {
    const w = START_CURVE[h]!;
    if (r < w) return h * HOUR_MS + Math.floor((r / w) * HOUR_MS);
    r -= w;
  }
  return DAY_MS - 1;
}

/** A small integer hash so every (seed, city, day) draws independently of the days planned before it. */
function daySeed(seed: number, city: number, day: number): number {
  let h =
    Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(day + 0x10000, 0xc2b2ae35) ^ Math.imul(city + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Mean value of one order of a category as sold in a district, fen. */
export function meanOrderFen(plan: Pick<SessionPlan, 'category' | 'district'>): number {
  return MEAN_QUANTITY * meanUnitPriceFen(plan.category, plan.district.profile);
}

/**
 * Plans whole sessions day by day against the ledger (campaign-ledger.ts): a city
 * starts exactly the ledger's number of sessions on a day, and the day's exact views
 * and sales are shared out (largest remainder) over every session running on that day,
 * by how long it runs that day and how popular its host is (sales also by its
 * category's conversion and prices). Start times are stratified over the daily curve;
 * who streams what for how long comes from the city's low-discrepancy sequence
 * (district and host share one coordinate, nested). Each day draws from its own seed,
 * so any day can be planned without the ones before it.
 */
export class SessionPlanner {
  readonly market: MarketCity[];
  readonly ledgers: CityLedger[];
  private readonly offsets: number[][];
  /** Views and sales of a city-day that had no session running, carried to the next day planned. */
  private readonly carry: { views: number; salesFen: number }[];
  /** Sessions of the last day planned (they may run into the next one). */
  private previous: SessionPlan[][] = [];

  constructor(
    private readonly seed: number,
    readonly scale: number,
    readonly curve: DailyCurve = 'shanghai',
    /** Plan sessions only in these cities (default: all). */
    private readonly cities?: readonly string[],
  ) {
    const rng = new Rng(seed);
    this.market = buildMarket(rng, scale);
    this.ledgers = buildLedgers(scale);
    this.offsets = this.market.map(() => STEPS.map(() => rng.next()));
    this.carry = this.market.map(() => ({ views: 0, salesFen: 0 }));
  }

  includes(city: MarketCity): boolean {
    return !this.cities || this.cities.includes(city.profile.name);
  }

  /** The host of a city's k-th session since the ledger's day 0 (any day: k is the session's index in the ledger). */
  hostOf(cityIndex: number, k: number): MarketHost {
    const x = (this.offsets[cityIndex]![0]! + k * STEPS[0]) % 1;
    const [district, rest] = this.market[cityIndex]!.districts.at(x < 0 ? x + 1 : x);
    return district.hosts.at(rest)[0];
  }

  /** Sessions a city starts on a ledger day, in start order, without their views and sales. */
  sessionsOf(cityIndex: number, day: number): SessionPlan[] {
    const city = this.market[cityIndex]!;
    const ledger = this.ledgers[cityIndex]!;
    const count = ledger.sessions.between(day, day + 1);
    const first = ledger.sessions.cumulative(day);
    const rng = new Rng(daySeed(this.seed, cityIndex, day));
    const midnight = dayStart(day);
    const out: SessionPlan[] = [];
    for (let k = 0; k < count; k++) {
      const [u1, u2, u3] = kronecker(this.offsets[cityIndex]!, first + k + 1);
      const [district, rest] = city.districts.at(u1!);
      const [host] = district.hosts.at(rest);
      const [name] = district.categories.at(u2!);
      const duration = Math.round(SESSION.minDurationMs * (SESSION.maxDurationMs / SESSION.minDurationMs) ** u3!);
      const startTs = midnight + startOffset(this.curve, (k + rng.next()) / count);
      out.push({
        key: `${city.profile.code}${day}-${k + 1}`,
        city,
        district,
        host,
        category: name,
        startTs,
        endTs: startTs + duration,
        viewRate: host.viewFactor / MEAN_DURATION_MS,
        pieces: [],
        seed: rng.int(1, 2 ** 31 - 1),
      });
    }
    return out;
  }

  /**
   * Plans a day: the sessions starting on it (returned, in start order) and, unless
   * `share` is false, the day's exact views and sales shared over every session running
   * on it. Days must be planned in order (the day before first, unshared, for sessions
   * that run into the first shared day).
   */
  planDay(day: number, share = true): SessionPlan[] {
    const started: SessionPlan[] = [];
    const today: SessionPlan[][] = this.market.map((city, i) => (this.includes(city) ? this.sessionsOf(i, day) : []));
    if (share) this.market.forEach((_, i) => this.shareDay(i, day, [...(this.previous[i] ?? []), ...today[i]!]));
    this.previous = today;
    for (const plans of today) started.push(...plans);
    return started.sort((a, b) => a.startTs - b.startTs || (a.key < b.key ? -1 : 1));
  }

  private shareDay(cityIndex: number, day: number, candidates: SessionPlan[]): void {
    const from = dayStart(day);
    const to = from + DAY_MS;
    const running = candidates.filter((p) => p.endTs > from && p.startTs < to);
    const target = this.ledgers[cityIndex]!.day(day);
    const carry = this.carry[cityIndex]!;
    const views = target.views + carry.views;
    const salesFen = target.salesFen + carry.salesFen;
    if (running.length === 0) {
      if (this.includes(this.market[cityIndex]!)) Object.assign(carry, { views, salesFen });
      return;
    }
    Object.assign(carry, { views: 0, salesFen: 0 });
    const overlap = running.map((p) => (Math.min(p.endTs, to) - Math.max(p.startTs, from)) * p.viewRate);
    const viewShares = largestRemainder(views, overlap);
    const salesShares = largestRemainder(
      salesFen,
      running.map((p, i) => overlap[i]! * category(p.category).conversion * meanOrderFen(p)),
    );
    running.forEach((p, i) =>
      p.pieces.push({
        from: Math.max(p.startTs, from),
        to: Math.min(p.endTs, to),
        views: viewShares[i]!,
        salesFen: salesShares[i]!,
      }),
    );
  }
}
