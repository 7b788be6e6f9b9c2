import type { MonthResult } from '../scenarios/month';
import { monthCheckCells, type MonthCheck } from './month-check';
import { fmtInt, fmtNum } from './log';
import { MONTH_SCREENSHOT } from './options';
import { markdownTable, type BenchResults, type Failed } from './report';

/**
 * The README's record of a finished month at full scale, written from the run's own
 * results: what a reader needs to trust the figures (date, machine, command, the check
 * table, the costs and targets as the run measured them) and the campaign screen it ended
 * on. Only a run that played the whole month at scale 1 and found every figure exact is
 * recorded; anything else is refused with the reason.
 */

export const MONTH_RECORD_BEGIN = '<!-- month-record:begin -->';
export const MONTH_RECORD_END = '<!-- month-record:end -->';

/** Why the results cannot be recorded, or null when they can. */
export function unrecordable(results: BenchResults): string | null {
  const month = results.scenarios.month;
  if (!month) return 'the results have no month scenario (npm run bench -- --only ceiling,month)';
  if ((month as Failed).error) return `the month failed: ${(month as Failed).error.split('\n')[0]}`;
  const m = month as MonthResult;
  if (results.quick) return 'a --quick run is not the month at full scale';
  if (m.scale !== 1) return `the month ran at scale ${m.scale}, not 1`;
  if (!m.exact) return 'the month was not exact on every read path';
  if (m.recovery === null || m.history === null) return 'the run skipped the history questions or the recovery phase';
  return null;
}

/** The check as a markdown table: figure, plan, sent, each read path, verdict. */
export function monthCheckMarkdown(check: MonthCheck): string {
  const { head, rows } = monthCheckCells(check);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const align = head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:'));
  return [row(head), row(align), ...rows.map(row)].join('\n');
}

/**
 * How the run was played when a hard stop interrupted it (empty for one sitting): when each
 * sitting started, what the first ones had sent, and what the figures add up.
 */
export function sittingsSentence(month: MonthResult): string[] {
  const sittings = month.sittings ?? [];
  if (sittings.length < 2) return [];
  const earlier = sittings.slice(0, -1);
  const regenerated = sittings.reduce((n, s) => n + (s.regenerated?.seconds ?? 0), 0);
  return [
    `It ran in ${sittings.length} sittings, which began sending at ${sittings.map((s) => `${s.startedAt.slice(0, 16).replace('T', ' ')}`).join(', ')} UTC:`,
    `a hard stop that ends every process (the machine's session ending) interrupted it after ${earlier.map((s) => fmtInt(s.sent)).join(', then ')} events sent,`,
    'and the same command with `--resume` went on from what the stores held (workers from their committed',
    'offsets, the producer past what each partition held). The wall time and CPU figures below add up the',
    `sittings' active time (${fmtNum(sittings.reduce((n, s) => n + s.activeS, 0))} s), without the resumed producer's regeneration of the events already`,
    `in the topic (${fmtNum(regenerated)} s), the workers' catch-up meanwhile (at most a million events), or each sitting's`,
    'last seconds before its stop (up to 5 s, between checkpoints).',
  ];
}

/** The README section, between its markers. Throws when the results cannot be recorded. */
export function monthRecordSection(results: BenchResults): string {
  const refused = unrecordable(results);
  if (refused) throw new Error(`not recorded: ${refused}`);
  const month = results.scenarios.month as MonthResult;
  const m = results.machine;
  const v = results.versions;
  // The history questions' baseline (every question from the minute rollup) stays in the JSON.
  const rows = results.table.filter(
    (r) => (r.scenario === 'month' || r.scenario === 'ceiling') && !r.measure.includes('minute rollup (baseline)'),
  );
  const shot = month.screenshot?.saved.includes(MONTH_SCREENSHOT) ?? false;
  const notMet = rows.filter((r) => r.status === 'not met').map((r) => r.measure);
  return [
    MONTH_RECORD_BEGIN,
    "## Shenzhen's campaign month at full scale",
    '',
    `Run on ${results.date.slice(0, 16).replace('T', ' ')} UTC on ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`,
    `(Node ${v.node}, Kafka ${v.kafka}, Redis ${v.redis}, ClickHouse ${v.clickhouse} via chDB ${v.chdb}), with`,
    `\`npm run bench -- --only ceiling,month --update-screenshot\` (load average ${m.loadAverageAtStart} at its start), ${fmtInt(results.durationS)} s in all${(month.sittings?.length ?? 1) > 1 ? ' in its last sitting' : ''}.`,
    ...sittingsSentence(month),
    `It played the simulator's plan of the month at scale 1: ${fmtInt(month.events)} events, ${fmtInt(month.plan.salesFen / 100)} yuan,`,
    `${fmtInt(month.plan.views)} views and ${fmtInt(month.plan.sessions)} sessions in Shenzhen, through Kafka, ${month.workers} ingest workers,`,
    'Redis, ClickHouse and the gateway, then read every figure back on each read path (REST live totals, a',
    'WebSocket snapshot, the campaign API and the history API) and compared it with the plan (sales, views,',
    'sessions) or with what the producer sent (the rest). Every figure is exact:',
    '',
    monthCheckMarkdown(month.check),
    '',
    'What it cost and how it compares with the targets, as the run reported them (`bench-results/results.md`;',
    `the whole result: [docs/bench/month-scale1.json](docs/bench/month-scale1.json)):`,
    '',
    markdownTable(rows),
    '',
    notMet.length > 0
      ? `Targets not met in this run: ${notMet.join('; ')}. What limits them and what was tried: [benchmarks](docs/benchmarks.md#shenzhens-campaign-month-month).`
      : 'Every target was met in this run.',
    ...(shot ? ['', `![The campaign screen at the end of Shenzhen's month at scale 1](${MONTH_SCREENSHOT})`] : []),
    MONTH_RECORD_END,
  ].join('\n');
}

/** `page` with its record section replaced (the markers must be there once). */
export function replaceMonthRecord(page: string, section: string): string {
  const begin = page.indexOf(MONTH_RECORD_BEGIN);
  const end = page.indexOf(MONTH_RECORD_END);
  if (begin < 0 || end < begin || page.indexOf(MONTH_RECORD_BEGIN, begin + 1) >= 0)
    throw new Error(`the page needs exactly one ${MONTH_RECORD_BEGIN} … ${MONTH_RECORD_END} block`);
  return page.slice(0, begin) + section + page.slice(end + MONTH_RECORD_END.length);
}
