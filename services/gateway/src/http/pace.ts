import type { Campaign, CampaignTargets } from '@livetally/campaigns';
import type { HistoryMeasures } from '@livetally/history';

/** Which measure each campaign target is compared with. */
export const TARGET_MEASURE: Record<keyof CampaignTargets, keyof HistoryMeasures> = {
  gmvFen: 'salesFen',
  views: 'views',
  sessions: 'sessions',
  hosts: 'activeHosts',
};

export type PaceStatus = 'not_started' | 'ahead' | 'behind' | 'met' | 'missed';

export interface TargetPace {
  measure: keyof HistoryMeasures;
  target: number;
  actual: number;
  /** actual / target (above 1 once exceeded). */
  doneShare: number;
  /** What a straight line from 0 at the start to the target at the end says by now. */
  expectedByNow: number;
  status: PaceStatus;
}

export interface Pace {
  asOf: number;
  /** Share of the window that has passed, 0..1. */
  elapsedShare: number;
  targets: Partial<Record<keyof CampaignTargets, TargetPace>>;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Progress against each target: the share done and, against the elapsed share of the
 * window, whether the campaign is ahead (done ≥ elapsed) or behind. A met target stays
 * met; a target not met when the window has closed is missed.
 */
export function computePace(campaign: Campaign, history: HistoryMeasures, now: number): Pace {
  const span = campaign.endsAt - campaign.startsAt;
  const elapsed = Math.min(1, Math.max(0, (now - campaign.startsAt) / span));
  const targets: Pace['targets'] = {};
  for (const [key, target] of Object.entries(campaign.targets) as [keyof CampaignTargets, number | undefined][]) {
    if (target === undefined) continue;
    const measure = TARGET_MEASURE[key];
    const actual = history[measure];
    const done = actual / target;
    let status: PaceStatus;
    if (actual >= target) status = 'met';
    else if (elapsed >= 1) status = 'missed';
    else if (elapsed === 0) status = 'not_started';
    else status = done >= elapsed ? 'ahead' : 'behind';
    targets[key] = {
      measure,
      target,
      actual,
      doneShare: round(done),
      expectedByNow: Math.round(target * elapsed),
      status,
    };
  }
  return { asOf: now, elapsedShare: round(elapsed), targets };
}
