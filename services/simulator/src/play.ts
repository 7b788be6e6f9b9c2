import type { Producer } from 'kafkajs';
import { MEASURES, contributionOf, emptyMeasureTotals, encodeEvent, type LiveEvent } from '@livetally/events';
import { calibrate, describeCalibration, scaleForRate } from './calibration';
import { CampaignGenerator } from './campaign-generator';
import { describePlan, summarisePlan, type PlanSummary } from './campaign-plan';
import { DEFAULT_CAMPAIGN_MINUTES, type SimulatorConfig } from './config';
import { formatShanghai } from './shanghai-time';

/** What has been sent, with Shenzhen's own figures for the progress line and summary. */
export class PlayStats {
  sent = 0;
  /** Shenzhen's totals, counted by the counting rule. */
  shenzhen = emptyMeasureTotals();

  add(events: readonly LiveEvent[]): void {
    this.sent += events.length;
    const sz = this.shenzhen;
    for (const e of events) {
      if (e.city !== 'Shenzhen') continue;
      const added = contributionOf(e);
      for (const m of MEASURES) sz[m] += added[m] ?? 0;
    }
  }
}

const log = (line: string) => process.stderr.write(`[simulator] ${line}\n`);
const int = (x: number) => Math.round(x).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Events per produce request: a busy session's events share one partition, and the broker caps a request at 1 MB. */
const BATCH = 2_000;

async function send(p: Producer, topic: string, events: LiveEvent[]): Promise<void> {
  await p.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.streamId, value: encodeEvent(e) })) });
}

function planOf(config: SimulatorConfig): PlanSummary {
  return summarisePlan(config.seed, config.scale!, config.from, config.to, config.curve, config.cities);
}

/** --plan-only: the window's exact totals, as JSON on stdout (and readable lines on stderr). */
export function printPlan(config: SimulatorConfig): void {
  const plan = planOf(config);
  for (const line of describePlan(plan)) log(line);
  process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
}

/**
 * Fast-forward: plays the window's event time `speed` times faster than the wall clock,
 * producing every event once its event time is reached, and stops at the window's end.
 */
export async function runCampaign(p: Producer, config: SimulatorConfig, isRunning: () => boolean): Promise<void> {
  const { from, to } = config;
  const scale = config.scale!;
  const speed = config.speed ?? (to - from) / ((config.minutes ?? DEFAULT_CAMPAIGN_MINUTES) * 60_000);
  const cal = calibrate(scale, from, to);
  for (const line of describeCalibration(cal)) log(line);
  const plan = planOf(config);
  for (const line of describePlan(plan)) log(line);
  // The plan's totals are the window's only when it covers whole days.
  const szPlan = plan.wholeDays ? plan.cities.find((c) => c.city === 'Shenzhen') : undefined;
  log(
    `speed ${speed.toFixed(0)}x: the window plays in ${((to - from) / speed / 60_000).toFixed(1)} min, about ${int(cal.events / ((to - from) / speed / 1000))} events/s (bursty: evenings are busy)`,
  );
  log(
    `campaign target at this scale: {"cities":["Shenzhen"],"targets":{"gmvFen":${szPlan?.salesFen ?? Math.round(cal.shenzhen.salesFen)}}}`,
  );
  const generator = new CampaignGenerator({
    seed: config.seed,
    scale,
    from,
    to,
    curve: config.curve,
    cities: config.cities,
  });
  const stats = new PlayStats();
  const wall0 = Date.now();
  let reached = from;
  let last = { at: wall0, sent: 0 };
  const report = () => {
    const now = Date.now();
    const rate = ((stats.sent - last.sent) * 1000) / Math.max(now - last.at, 1);
    last = { at: now, sent: stats.sent };
    const pct = (100 * (reached - from)) / (to - from);
    log(
      `${pct.toFixed(1)}% | event time ${formatShanghai(reached)} | sent ${int(stats.sent)} | ${int(rate)} events/s | Shenzhen GMV ${int(stats.shenzhen.salesFen / 100)} yuan`,
    );
  };
  while (isRunning()) {
    const target = Math.min(to, from + (Date.now() - wall0) * speed);
    const events = generator.until(target, BATCH);
    if (events.length > 0) {
      await send(p, config.topic, events);
      stats.add(events);
      reached = events.at(-1)!.ts;
    } else if (generator.peekTs() === null && target >= to) {
      reached = to;
      break;
    } else {
      reached = Math.max(reached, target);
      await sleep(50);
    }
    if (Date.now() - last.at >= 2_000) report();
  }
  report();
  const sz = stats.shenzhen;
  const summary = {
    complete: reached >= to,
    window: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), scale, seed: config.seed },
    sent: stats.sent,
    shenzhen: {
      salesFen: sz.salesFen,
      plannedSalesFen: szPlan?.salesFen ?? null,
      refundsFen: sz.refundsFen,
      orders: sz.orders,
      views: sz.views,
      plannedViews: szPlan?.views ?? null,
      sessions: sz.sessions,
      plannedSessions: szPlan?.sessions ?? null,
      likes: sz.likes,
      expectedLikes: Math.round(cal.shenzhen.likes),
    },
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

/** Live: the same market at wall-clock time, sized so that it averages --rate events/s. */
export async function runLive(p: Producer, config: SimulatorConfig, isRunning: () => boolean): Promise<void> {
  const start = Date.now();
  const scale = config.scale ?? scaleForRate(config.ratePerSecond);
  const to = config.durationSeconds > 0 ? start + config.durationSeconds * 1000 : undefined;
  const day = calibrate(scale, start, start + 86_400_000);
  log(
    `live market at scale ${scale.toPrecision(3)}: about ${int(day.events / 86_400)} events/s on average (${config.curve} daily curve), ${int(day.nationalPerDay.sessions)} sessions/day, Shenzhen ${int(day.shenzhen.salesFen / 100)} yuan/day`,
  );
  const generator = new CampaignGenerator({
    seed: config.seed,
    scale,
    from: start,
    to,
    curve: config.curve,
    cities: config.cities,
    idPrefix: `l${config.seed}.${start.toString(36)}`,
  });
  const stats = new PlayStats();
  let lastReport = start;
  const report = () => {
    const secs = (Date.now() - start) / 1000;
    log(
      `sent ${int(stats.sent)} in ${secs.toFixed(1)} s, ${int(stats.sent / Math.max(secs, 0.001))} events/s | Shenzhen GMV ${int(stats.shenzhen.salesFen / 100)} yuan, ${stats.shenzhen.sessions} sessions`,
    );
  };
  while (isRunning() && (to === undefined || Date.now() < to || generator.peekTs() !== null)) {
    const events = generator.until(Date.now(), BATCH);
    if (events.length > 0) {
      await send(p, config.topic, events);
      stats.add(events);
    }
    if (Date.now() - lastReport >= 5_000) {
      report();
      lastReport = Date.now();
    }
    if (events.length < BATCH) await sleep(100);
  }
  report();
}
