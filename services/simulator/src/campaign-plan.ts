import { dayIndex, dayStart } from './campaign-ledger';
import { SessionPlanner, type DailyCurve } from './campaign-planner';
import type { MarketHost } from './campaign-market';
import { formatShanghai } from './shanghai-time';

export interface CityPlan {
  city: string;
  sessions: number;
  views: number;
  salesFen: number;
  /** Distinct hosts that start at least one session in the window. */
  hosts: number;
}

export interface PlanSummary {
  scale: number;
  from: number;
  to: number;
  /** False when the window cuts a day: the totals are then those of the whole days it touches. */
  wholeDays: boolean;
  cities: CityPlan[];
}

/**
 * The plan's exact totals over whole Asia/Shanghai days [from, to), per city: sessions,
 * views and sales straight from the ledger (closed forms, no sessions drawn), and the
 * distinct hosts from the hosts the planner picks for each session (one low-discrepancy
 * point per session, no events): about a second per ten million sessions.
 */
export function summarisePlan(
  seed: number,
  scale: number,
  from: number,
  to: number,
  curve: DailyCurve = 'shanghai',
  cities?: readonly string[],
): PlanSummary {
  const planner = new SessionPlanner(seed, scale, curve, cities);
  const [first, end] = [dayIndex(from), dayIndex(to - 1) + 1];
  const wholeDays = dayStart(first) === from && dayStart(end) === to;
  const out: CityPlan[] = [];
  planner.market.forEach((city, i) => {
    if (!planner.includes(city)) return;
    const totals = planner.ledgers[i]!.totals(first, end);
    const hosts = new Set<MarketHost>();
    const ledger = planner.ledgers[i]!.sessions;
    // Every host of the pool seen: later sessions can add none.
    for (let k = ledger.cumulative(first) + 1; k <= ledger.cumulative(end) && hosts.size < city.hostCount; k++)
      hosts.add(planner.hostOf(i, k));
    out.push({ city: city.profile.name, ...totals, hosts: hosts.size });
  });
  return { scale, from, to, wholeDays, cities: out };
}

/** 1-based rank of a city among the plan's cities by a figure. */
export function rankOf(plan: PlanSummary, city: string, by: (c: CityPlan) => number): number {
  const sorted = [...plan.cities].sort((a, b) => by(b) - by(a));
  return sorted.findIndex((c) => c.city === city) + 1;
}

const n = (x: number) => x.toLocaleString('en-US');

export function describePlan(plan: PlanSummary): string[] {
  const lines = [
    plan.wholeDays
      ? `plan at scale ${plan.scale}, ${formatShanghai(plan.from)} – ${formatShanghai(plan.to)} Asia/Shanghai (exact: the events sum to these)`
      : `plan at scale ${plan.scale} of the whole Asia/Shanghai days around ${formatShanghai(plan.from)} – ${formatShanghai(plan.to)} (the window cuts a day: it plays part of these)`,
  ];
  for (const c of plan.cities)
    lines.push(
      `${c.city}: sales ${n(c.salesFen / 100)} yuan (${n(c.salesFen)} fen), ${n(c.views)} views, ${n(c.sessions)} sessions, ${n(c.hosts)} hosts` +
        (plan.cities.length > 1
          ? ` — rank ${rankOf(plan, c.city, (x) => x.sessions)} by sessions, ${rankOf(plan, c.city, (x) => x.salesFen)} by sales, ${rankOf(plan, c.city, (x) => x.hosts)} by hosts`
          : ''),
    );
  return lines;
}
