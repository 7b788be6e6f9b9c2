// What the screen shows, as tables: adding a figure is a row here (and, for a totals tile,
// its element in page.html; figures.test.ts checks the two agree).
import { formatCount, formatFen, isSafeInt } from './format';

/** A totals frame (or REST totals): field → integer, money in fen. Sent by the gateway, so checked. */
export type Totals = Record<string, unknown>;

export interface TotalsFigure {
  /** data-testid of the element in page.html; its data-value gets the raw integer. */
  testid: string;
  /** The figure from a totals frame; anything but a safe integer shows as —. */
  read(t: Totals): unknown;
  format: (n: number) => string;
}

/** A figure the frame carries, or else the difference of the two fields it is made of (when both are integers). */
const sentOrDifference =
  (field: string, from: string, less: string) =>
  (t: Totals): number | undefined => {
    const [sent, a, b] = [t[field], t[from], t[less]];
    return isSafeInt(sent) ? sent : isSafeInt(a) && isSafeInt(b) ? a - b : undefined;
  };

const netSalesFen = sentOrDifference('netSalesFen', 'salesFen', 'refundsFen');
/** Live now, as the gateway sends it; from an older gateway's frame, the same floor at none. */
const liveSessions = (t: Totals): number | undefined => {
  const n = sentOrDifference('liveSessions', 'sessions', 'sessionsEnded')(t);
  return n === undefined ? undefined : Math.max(0, n);
};

/** Average order value in fen, truncated (BigInt: exact for any safe integers). */
const avgOrderFen = (t: Totals): number | undefined =>
  isSafeInt(t.orders) && t.orders > 0 && isSafeInt(t.salesFen)
    ? Number(BigInt(t.salesFen) / BigInt(t.orders))
    : undefined;

/** Every totals figure but the GMV hero (which ticks towards each new value). */
export const TOTALS_FIGURES: readonly TotalsFigure[] = [
  { testid: 'net-gmv', read: netSalesFen, format: formatFen },
  { testid: 'refunds-fen', read: (t) => t.refundsFen, format: formatFen },
  { testid: 'avg-order', read: avgOrderFen, format: formatFen },
  { testid: 'views', read: (t) => t.views, format: formatCount },
  { testid: 'likes', read: (t) => t.likes, format: formatCount },
  { testid: 'unique-viewers', read: (t) => t.uniqueViewers, format: formatCount },
  { testid: 'sessions', read: (t) => t.sessions, format: formatCount },
  { testid: 'sessions-ended', read: (t) => t.sessionsEnded, format: formatCount },
  { testid: 'live-sessions', read: liveSessions, format: formatCount },
  { testid: 'active-hosts', read: (t) => t.activeHosts, format: formatCount },
  { testid: 'orders', read: (t) => t.orders, format: formatCount },
  { testid: 'items', read: (t) => t.items, format: formatCount },
  { testid: 'refunds', read: (t) => t.refunds, format: formatCount },
];

export interface Target {
  /** Key in a campaign's targets. */
  key: string;
  /** The totals field it is measured on. */
  field: string;
  zh: string;
  en: string;
  money?: boolean;
}

export const TARGETS: readonly Target[] = [
  { key: 'gmvFen', field: 'salesFen', zh: '成交额', en: 'GMV', money: true },
  { key: 'views', field: 'views', zh: '观看', en: 'Views' },
  { key: 'sessions', field: 'sessions', zh: '直播场次', en: 'Sessions' },
  { key: 'hosts', field: 'activeHosts', zh: '活跃主播', en: 'Hosts' },
];

/** Rolling windows (rows) and their fields (columns) from a windows frame. */
export const WINDOWS = [
  { key: 'm1', zh: '近1分钟', en: 'last 1 min' },
  { key: 'm5', zh: '近5分钟', en: 'last 5 min' },
  { key: 'm60', zh: '近60分钟', en: 'last 60 min' },
] as const;
export const WINDOW_FIELDS: readonly { field: string; money?: boolean }[] = [
  { field: 'salesFen', money: true },
  { field: 'orders' },
  { field: 'views' },
  { field: 'sessions' },
  { field: 'refunds' },
];

export interface RankingPanel {
  dim: string;
  zh: string;
  en: string;
  /** The national city ranking, whatever the screen's scope. */
  national?: boolean;
}

export const RANKINGS: readonly RankingPanel[] = [
  { dim: 'district', zh: '区排名', en: 'Districts' },
  { dim: 'host', zh: '主播排名', en: 'Hosts' },
  { dim: 'city', zh: '全国城市排名', en: 'National cities', national: true },
  { dim: 'category', zh: '品类排名', en: 'Categories' },
  { dim: 'platform', zh: '平台', en: 'Platforms' },
];

/** The city the screen is for: highlighted in the national ranking, its place in the hero. */
export const HOME_CITY = 'Shenzhen';
