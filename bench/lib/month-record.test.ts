import { describe, expect, it } from 'vitest';
import type { MonthResult } from '../scenarios/month';
import { checkMonth, type Figures } from './month-check';
import {
  MONTH_RECORD_BEGIN,
  MONTH_RECORD_END,
  monthRecordSection,
  replaceMonthRecord,
  unrecordable,
} from './month-record';
import type { BenchResults } from './report';

const sent: Figures = {
  salesFen: 4_080_000_000_000,
  views: 5_829_508_197,
  sessions: 665_574,
  sessionsEnded: 665_574,
  orders: 160_000_000,
  items: 190_000_000,
  refunds: 12_000_000,
  refundsFen: 300_000_000_00,
  likes: 900_000_000,
};
const plan = { salesFen: sent.salesFen, views: sent.views, sessions: sent.sessions };

function results(month: Partial<MonthResult>, check = checkMonth(plan, sent, { rest: { figures: { ...sent } } })) {
  const full = {
    scale: 1,
    events: 286_000_000,
    workers: 2,
    plan: { ...plan, hosts: 16_000 },
    exact: check.exact,
    check,
    history: {},
    recovery: {},
    screenshot: { saved: ['bench-results/month-campaign.png', 'docs/month-campaign.png'], matched: true },
    ...month,
  } as MonthResult;
  return {
    schema: 1,
    date: '2026-12-08T01:02:03.000Z',
    quick: false,
    only: ['ceiling', 'month'],
    durationS: 9_876,
    machine: {
      cpuModel: 'AMD EPYC',
      cores: 2,
      memoryGiB: 23.5,
      os: 'Debian 12',
      kernel: '6.1',
      loadAverageAtStart: 0.5,
    },
    versions: { node: 'v20', kafka: '3.9.1', redis: '7.0.15', clickhouse: '26.7', chdb: '3.4.0' },
    event: null,
    scenarios: { month: full },
    table: [
      { scenario: 'ceiling', measure: 'bare consumer', value: '160,000 events/s', target: '', status: '' },
      { scenario: 'month', measure: 'wall time', value: '9,000 s', target: '< 60 min', status: 'not met' },
      { scenario: 'ingest', measure: 'not this run', value: 'x', target: '', status: '' },
      { scenario: 'month', measure: 'history: minute rollup (baseline): q', value: '9 ms', target: '', status: '' },
    ],
  } as unknown as BenchResults;
}

describe('the month record', () => {
  it('records a whole, exact month at scale 1 with its date, machine, check table, costs and screenshot', () => {
    const section = monthRecordSection(results({}));
    expect(section.startsWith(MONTH_RECORD_BEGIN) && section.endsWith(MONTH_RECORD_END)).toBe(true);
    expect(section).toContain('2026-12-08 01:02 UTC on AMD EPYC, 2 cores');
    expect(section).toContain('| salesFen | 4,080,000,000,000 | 4,080,000,000,000 | 4,080,000,000,000 | exact |');
    expect(section).toContain('| month | wall time | 9,000 s | < 60 min | not met |');
    expect(section).toContain('Targets not met in this run: wall time.');
    expect(section).not.toContain('not this run');
    expect(section).not.toContain('(baseline)');
    expect(section).toContain('(load average 0.5 at its start)');
    expect(section).toContain('](docs/month-campaign.png)');
  });

  it('says how a resumed run was played: its sittings, where each stopped, what the figures add up', () => {
    const sitting = (startedAt: string, sent: number, activeS: number, regeneratedS?: number) => ({
      startedAt,
      activeS,
      cpuS: {},
      machinePercent: 99,
      producerCpuMicros: 0,
      producerS: activeS,
      lagWaitS: 0,
      sent,
      applied: sent,
      ...(regeneratedS ? { regenerated: { events: 1, seconds: regeneratedS, cpuMicros: 1 } } : {}),
    });
    const section = monthRecordSection(
      results({
        sittings: [
          sitting('2026-12-07T10:45:00.000Z', 150_000_000, 8_000),
          sitting('2026-12-08T09:00:00.000Z', 286_000_000, 6_500.5, 600),
        ],
      }),
    );
    expect(section).toContain('9,876 s in all in its last sitting.');
    expect(section).toContain('It ran in 2 sittings, which began sending at 2026-12-07 10:45, 2026-12-08 09:00 UTC:');
    expect(section).toContain('interrupted it after 150,000,000 events sent,');
    expect(section).toContain("sittings' active time (14,500.5 s), without the resumed producer's regeneration");
    expect(section).toContain('in the topic (600.0 s)');
    expect(monthRecordSection(results({}))).not.toContain('sittings');
  });

  it('leaves the picture out when the run did not update it', () => {
    expect(monthRecordSection(results({ screenshot: null }))).not.toContain('month-campaign.png)');
  });

  it('refuses a smaller scale, an inexact run, a skipped phase or a failure, saying why', () => {
    expect(unrecordable(results({ scale: 0.5 }))).toMatch(/scale 0.5/);
    const off = checkMonth(plan, sent, { rest: { figures: { ...sent, likes: sent.likes - 1 } } });
    expect(unrecordable(results({}, off))).toMatch(/not exact/);
    expect(unrecordable(results({ recovery: null }))).toMatch(/recovery/);
    const failed = results({});
    failed.scenarios.month = { error: 'Error: a pipeline process exited (0):\n  at …' };
    expect(unrecordable(failed)).toBe('the month failed: Error: a pipeline process exited (0):');
    expect(() => monthRecordSection(failed)).toThrow(/not recorded/);
    expect(unrecordable(results({}))).toBeNull();
  });

  it('replaces exactly the marked block of a page', () => {
    const page = `# T\n\nbefore\n${MONTH_RECORD_BEGIN}\nold\n${MONTH_RECORD_END}\nafter\n`;
    expect(replaceMonthRecord(page, `${MONTH_RECORD_BEGIN}\nnew\n${MONTH_RECORD_END}`)).toBe(
      `# T\n\nbefore\n${MONTH_RECORD_BEGIN}\nnew\n${MONTH_RECORD_END}\nafter\n`,
    );
    expect(() => replaceMonthRecord('no markers', 'x')).toThrow(/exactly one/);
    expect(() => replaceMonthRecord(`${page}${page}`, 'x')).toThrow(/exactly one/);
  });
});
