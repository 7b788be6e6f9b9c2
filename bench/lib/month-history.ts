import type { ClickHouseClient } from '@clickhouse/client';
import { HistoryQueries } from '@livetally/history';
import {
  describeTiming,
  timeQuestions,
  type QueryTiming,
  type QuestionRanges,
  type QuestionSubjects,
} from '../scenarios/history';
import { fmtNum } from './log';
import { TARGETS } from './report';

/**
 * The month scenario's history phase (issue 14): the history benchmark's questions timed
 * over the replayed month's own rollups, about the month's own subjects (its top host,
 * district and platform by GMV, the city Shenzhen) and ranges inside its campaign window.
 */

/** Issue 14: every history question answered with p95 under 100 ms. */
export const HISTORY_TARGET_P95_MS = TARGETS.historyP95Ms;
const DAY_S = 86_400;

export interface MonthHistoryTiming extends QueryTiming {
  /** p95 under the target, without error (null: not timed). */
  withinTarget: boolean | null;
}

export interface MonthHistory {
  subjects: QuestionSubjects;
  /** Unix seconds, as the questions take them. */
  ranges: QuestionRanges;
  runsPerQuery: number;
  targetP95Ms: number;
  /** Each question from the minute rollup (the baseline) and from the rollups HistoryQueries picks (the product's path). */
  queries: MonthHistoryTiming[];
  /** Worst p95 of the product's path (null: none timed). */
  worstP95Ms: number | null;
  /** Every question on the product's path timed, without error, p95 under the target. */
  withinTarget: boolean;
  /** Every question got the same answer from the rollups as from the minute rollup. */
  answersMatch: boolean;
}

/**
 * The questions' ranges inside a campaign window: the whole window, and the week in its
 * middle (whole days from the window's start) with that week's first day. Throws when
 * the window is shorter than a week.
 */
export function questionRangesWithin(fromMs: number, toMs: number): QuestionRanges {
  const from = Math.floor(fromMs / 1000);
  const to = Math.floor(toMs / 1000);
  const days = Math.floor((to - from) / DAY_S);
  if (days < 7) throw new Error(`a campaign window of ${days} whole day(s) holds no week`);
  const weekFrom = from + Math.floor((days - 7) / 2) * DAY_S;
  return {
    campaign: { from, to },
    week: { from: weekFrom, to: weekFrom + 7 * DAY_S },
    day: { from: weekFrom, to: weekFrom + DAY_S },
  };
}

/** The timings judged against the target; the product's path ('rollups') decides the verdict. */
export function judgeHistory(
  queries: QueryTiming[],
  targetP95Ms = HISTORY_TARGET_P95_MS,
): Pick<MonthHistory, 'queries' | 'worstP95Ms' | 'withinTarget' | 'answersMatch'> {
  const judged = queries.map((q) => ({ ...q, withinTarget: q.ms && !q.error ? q.ms.p95 < targetP95Ms : null }));
  const product = judged.filter((q) => q.table === 'rollups');
  const timed = product.filter((q) => q.ms && !q.error);
  return {
    queries: judged,
    worstP95Ms: timed.length ? Math.max(...timed.map((q) => q.ms!.p95)) : null,
    withinTarget: product.length > 0 && product.every((q) => q.withinTarget === true),
    answersMatch: product.length > 0 && product.every((q) => q.sameAnswer === true),
  };
}

/** A question's progress line with its verdict against the target. */
export function describeJudged(q: MonthHistoryTiming, targetP95Ms = HISTORY_TARGET_P95_MS): string {
  const verdict = q.withinTarget === null ? 'not timed' : q.withinTarget ? 'yes' : 'NO';
  return `${describeTiming(q)}; p95 < ${targetP95Ms} ms: ${verdict}`;
}

/** Who the questions name: the month's top host, district and platform by GMV over its window, and the city. */
async function monthSubjects(ch: ClickHouseClient, ranges: QuestionRanges, city: string): Promise<QuestionSubjects> {
  const history = new HistoryQueries(ch);
  const { from, to } = ranges.campaign;
  const topOf = async (dimension: 'host' | 'district' | 'platform') => {
    const [top] = await history.top(dimension, 'gmv', from * 1000, to * 1000, 1);
    if (!top) throw new Error(`the month has no ${dimension} with sales between ${from} and ${to}`);
    return top.name;
  };
  return { host: await topOf('host'), district: await topOf('district'), platform: await topOf('platform'), city };
}

export interface MonthHistoryInput {
  /** A client on the month's database. */
  ch: ClickHouseClient;
  fromMs: number;
  toMs: number;
  city: string;
  runs: number;
  budgetMs: number;
  log(message: string): void;
}

export async function timeMonthHistory(input: MonthHistoryInput): Promise<MonthHistory> {
  const { ch, runs, budgetMs, log } = input;
  const ranges = questionRangesWithin(input.fromMs, input.toMs);
  const subjects = await monthSubjects(ch, ranges, input.city);
  const iso = (s: number) => new Date(s * 1000).toISOString();
  log(
    `history questions over the month's rollups: host ${subjects.host}, district ${subjects.district}, platform ${subjects.platform} (each the month's top by GMV), city ${subjects.city}; week ${iso(ranges.week.from)} – ${iso(ranges.week.to)}, day from ${iso(ranges.day.from)}`,
  );
  const timings = await timeQuestions(ch, { rollupPresent: true, runs, budgetMs, raw: false, subjects, ranges });
  const judged = judgeHistory(timings);
  for (const q of judged.queries) log(describeJudged(q));
  log(
    `history over the month: worst p95 of the rollups picked ${judged.worstP95Ms === null ? '–' : `${fmtNum(judged.worstP95Ms)} ms`}; every question p95 < ${HISTORY_TARGET_P95_MS} ms: ${judged.withinTarget ? 'yes' : 'NO'}; answers = the minute rollup's (unique viewers from the day sketches within the estimates' error): ${judged.answersMatch ? 'yes' : 'NO'}`,
  );
  return { subjects, ranges, runsPerQuery: runs, targetP95Ms: HISTORY_TARGET_P95_MS, ...judged };
}
