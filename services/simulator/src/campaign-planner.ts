import { category, CONVERSION_SCALE, MEAN_DURATION_MS, VIEWS_PER_SESSION } from './calibration';
import { SESSION, START_CURVE, type CategoryName } from './campaign-profile';
import { buildMarket, type MarketCity, type MarketDistrict, type MarketHost } from './campaign-market';
import { poisson, randomRound } from './dist';
import { Rng } from './rng';
import { HOUR_MS, shanghaiHour } from './shanghai-time';

export type DailyCurve = 'shanghai' | 'flat';

export interface SessionPlan {
  /** Sequence number in start order; part of the stream id. */
  no: number;
  city: MarketCity;
  district: MarketDistrict;
  host: MarketHost;
  category: CategoryName;
  startTs: number;
  endTs: number;
  /** Views over the whole session. */
  views: number;
  /** Orders over the whole session. */
  orders: number;
  /** Seeds the session's own draws (view times, prices, refunds). */
  seed: number;
}

const CURVE_TOTAL = START_CURVE.reduce((a, b) => a + b, 0);
/** Steps of a Kronecker sequence: 1, √2, √3 and √5 are independent over the rationals. */
const STEPS = [Math.SQRT2 - 1, Math.sqrt(3) - 1, Math.sqrt(5) - 2] as const;

/** Low-discrepancy points in [0, 1)³: session mixes converge to the profile far faster than with independent draws. */
class Kronecker {
  private k = 0;

  constructor(private readonly offsets: readonly number[]) {}

  next(): number[] {
    this.k++;
    return STEPS.map((step, i) => (this.offsets[i]! + this.k * step) % 1);
  }
}

/**
 * Plans whole sessions hour by hour. How many sessions a city starts in an hour is its
 * expected number carried forward (no Poisson noise), so rankings by sessions follow
 * the profile exactly, and the mix of districts, hosts, categories and durations is
 * stratified; start times, view and order counts and everything within a session are
 * drawn. Small scales therefore land close to the calibrated figures.
 */
export class SessionPlanner {
  readonly market: MarketCity[];
  private readonly rng: Rng;
  private readonly carry: number[];
  private readonly points: Kronecker[];
  private count = 0;

  constructor(
    seed: number,
    readonly scale: number,
    readonly curve: DailyCurve = 'shanghai',
    /** Plan sessions only in these cities (default: all). Changes the draws, not the expectations. */
    private readonly cities?: readonly string[],
  ) {
    this.rng = new Rng(seed);
    this.market = buildMarket(this.rng, scale);
    this.carry = this.market.map(() => this.rng.next());
    this.points = this.market.map(() => new Kronecker(STEPS.map(() => this.rng.next())));
  }

  /** Share of a day's session starts that fall in the hour starting at `ts`. */
  hourShare(ts: number): number {
    return this.curve === 'flat' ? 1 / 24 : START_CURVE[shanghaiHour(ts)]! / CURVE_TOTAL;
  }

  /** Sessions starting in [hourStart, hourStart + 1 h), in start order. */
  planHour(hourStart: number): SessionPlan[] {
    const share = this.hourShare(hourStart);
    const plans: Omit<SessionPlan, 'no'>[] = [];
    this.market.forEach((city, i) => {
      if (this.cities && !this.cities.includes(city.profile.name)) return;
      const due = this.carry[i]! + city.sessionsPerDay * share;
      const n = Math.floor(due);
      this.carry[i] = due - n;
      for (let k = 0; k < n; k++)
        plans.push(this.plan(city, this.points[i]!.next(), hourStart + Math.floor(this.rng.next() * HOUR_MS)));
    });
    plans.sort((a, b) => a.startTs - b.startTs);
    return plans.map((p) => ({ ...p, no: ++this.count }));
  }

  /**
   * Who streams what for how long comes from the city's low-discrepancy sequence
   * (district and host share one coordinate, nested); counts and times are drawn.
   */
  private plan(city: MarketCity, [u1, u2, u3]: number[], startTs: number): Omit<SessionPlan, 'no'> {
    const rng = this.rng;
    const [district, rest] = city.districts.at(u1!);
    const [host] = district.hosts.at(rest);
    const [name] = district.categories.at(u2!);
    const duration = SESSION.minDurationMs * (SESSION.maxDurationMs / SESSION.minDurationMs) ** u3!;
    const views = randomRound(rng, (VIEWS_PER_SESSION * host.viewFactor * duration) / MEAN_DURATION_MS);
    const orders = poisson(rng, views * category(name).conversion * CONVERSION_SCALE);
    return {
      city,
      district,
      host,
      category: name,
      startTs,
      endTs: startTs + Math.round(duration),
      views,
      orders,
      seed: rng.int(1, 2 ** 31 - 1),
    };
  }
}
