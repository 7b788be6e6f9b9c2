import { cityDaily } from './calibration';
import { CAMPAIGN_CITIES, SHENZHEN, SHENZHEN_FACTS, type CampaignCity } from './campaign-profile';
import { DAY_MS, parseShanghaiTime } from './shanghai-time';

/**
 * The plan's exact totals: whole numbers of sessions, views and fen per city and
 * Asia/Shanghai day, fixed before any session is drawn. The article's figures are
 * integers at scale 1 (rounded at other scales) spread evenly over their days:
 * sessions and views over January–October 2024 (305 days), sales over the campaign
 * month (40.8 billion yuan over 70 days) and the rest of January–October (127 billion
 * over 235 days). Day i of a figure spread over n days gets
 * floor((i+1)·T/n) − floor(i·T/n), so any run of whole days sums to a closed form and
 * the spans sum to T exactly; days outside 2024's January–October continue the
 * same daily pattern (the non-campaign one for sales). Other cities are Shenzhen times
 * their factor (sales also times their mix's sales per view relative to Shenzhen's).
 */

/** Day 0: 2024-01-01, midnight Asia/Shanghai. */
export const LEDGER_ANCHOR = parseShanghaiTime('2024-01-01');
const CAMPAIGN_FIRST_DAY = dayIndex(parseShanghaiTime(SHENZHEN_FACTS.campaignFrom));
const CAMPAIGN_END_DAY = dayIndex(parseShanghaiTime(SHENZHEN_FACTS.campaignTo));
const JAN_OCT_DAYS = SHENZHEN_FACTS.janOctDays;
const OTHER_DAYS = JAN_OCT_DAYS - SHENZHEN_FACTS.campaignDays;
const OTHER_SALES_YUAN = SHENZHEN_FACTS.salesYuan - SHENZHEN_FACTS.campaignSalesYuan;

export function dayIndex(ts: number): number {
  return Math.floor((ts - LEDGER_ANCHOR) / DAY_MS);
}

export function dayStart(day: number): number {
  return LEDGER_ANCHOR + day * DAY_MS;
}

/** floor(a / b) for whole numbers, exact however large a·T gets. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** A whole total spread evenly over `days` days starting at day `first`, continued on either side. */
class EvenSeries {
  private readonly total: bigint;
  private readonly days: bigint;

  constructor(
    total: number,
    days: number,
    private readonly first: number,
  ) {
    this.total = BigInt(total);
    this.days = BigInt(days);
  }

  /** Sum of days [first, day). */
  cumulative(day: number): number {
    return Number(floorDiv(BigInt(day - this.first) * this.total, this.days));
  }

  /** Sum of days [from, to). */
  between(from: number, to: number): number {
    return from >= to ? 0 : this.cumulative(to) - this.cumulative(from);
  }
}

export interface LedgerTotals {
  sessions: number;
  views: number;
  salesFen: number;
}

/** Sales per view of a city's category mix relative to Shenzhen's (1 for Shenzhen). */
function salesRatio(city: CampaignCity): number {
  return city === SHENZHEN ? 1 : cityDaily(city).salesFen / cityDaily(SHENZHEN).salesFen;
}

export class CityLedger {
  readonly sessions: EvenSeries;
  readonly views: EvenSeries;
  private readonly campaignSales: EvenSeries;
  private readonly otherSales: EvenSeries;

  constructor(
    readonly city: CampaignCity,
    readonly scale: number,
  ) {
    const whole = (x: number) => Math.round(x * scale * city.factor);
    this.sessions = new EvenSeries(whole(SHENZHEN_FACTS.sessions), JAN_OCT_DAYS, 0);
    this.views = new EvenSeries(whole(SHENZHEN_FACTS.views), JAN_OCT_DAYS, 0);
    const fen = (yuan: number) => Math.round(yuan * 100 * scale * city.factor * salesRatio(city));
    this.campaignSales = new EvenSeries(
      fen(SHENZHEN_FACTS.campaignSalesYuan),
      SHENZHEN_FACTS.campaignDays,
      CAMPAIGN_FIRST_DAY,
    );
    this.otherSales = new EvenSeries(fen(OTHER_SALES_YUAN), OTHER_DAYS, 0);
  }

  /** Exact totals of days [from, to) (day indices). */
  totals(from: number, to: number): LedgerTotals {
    const c = this.campaignSales;
    const o = this.otherSales;
    const salesFen =
      o.between(from, Math.min(to, CAMPAIGN_FIRST_DAY)) +
      c.between(Math.max(from, CAMPAIGN_FIRST_DAY), Math.min(to, CAMPAIGN_END_DAY)) +
      o.between(Math.max(from, CAMPAIGN_END_DAY), to);
    return { sessions: this.sessions.between(from, to), views: this.views.between(from, to), salesFen };
  }

  day(day: number): LedgerTotals {
    return this.totals(day, day + 1);
  }
}

export function buildLedgers(scale: number): CityLedger[] {
  return CAMPAIGN_CITIES.map((city) => new CityLedger(city, scale));
}
