import type { FastifyInstance } from 'fastify';
import { emptyMeasureTotals } from '@livetally/events';
import type { HistoryMeasures } from '@livetally/history';
import { createLogger } from '@livetally/logging';
import { buildApp, type GatewayDeps } from '../app';
import { prepareStatement } from '../http/sql-policy';
import type { HistoryReader, SqlFormat, SqlRunner, SqlVetting } from '../http/types';
import { LiveHub } from '../live/hub';
import { MemoryTotals } from './fakes';

export const measures = (over: Partial<HistoryMeasures> = {}): HistoryMeasures => ({
  ...emptyMeasureTotals(),
  netSalesFen: 0,
  uniqueViewers: 0,
  activeHosts: 0,
  ...over,
});

/** HistoryReader that records each call and answers from fixed values (or fails). */
export class FakeHistory implements HistoryReader {
  readonly calls: { method: string; args: unknown[] }[] = [];
  fail: Error | undefined;
  totalsValue = measures({ views: 10, salesFen: 500, netSalesFen: 500, orders: 2 });
  topValue = [
    { name: 'h-1', value: 900 },
    { name: 'h-2', value: 400 },
  ];
  rankValue: { rank: number; of: number; value: number } | null = { rank: 2, of: 7, value: 400 };

  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.fail) throw this.fail;
  }

  // Signatures come from HistoryReader so that they follow HistoryQueries instead of restating it.
  async totals(...args: Parameters<HistoryReader['totals']>): ReturnType<HistoryReader['totals']> {
    this.record('totals', args);
    return this.totalsValue;
  }

  async series(...args: Parameters<HistoryReader['series']>): ReturnType<HistoryReader['series']> {
    this.record('series', args);
    return [{ bucket: '2024-08-23T00:00:00', ...this.totalsValue }];
  }

  async top(...args: Parameters<HistoryReader['top']>): ReturnType<HistoryReader['top']> {
    this.record('top', args);
    return this.topValue;
  }

  async rankOf(...args: Parameters<HistoryReader['rankOf']>): ReturnType<HistoryReader['rankOf']> {
    this.record('rankOf', args);
    return this.rankValue;
  }
}

/** SqlRunner whose verdict and answer a test sets; records what reached it. The real vetting is tested against ClickHouse in tests/. */
export class FakeSql implements SqlRunner {
  readonly queries: { query: string; format: SqlFormat }[] = [];
  verdict: (query: string) => Promise<SqlVetting> = async (query) => ({ ok: true, statement: prepareStatement(query) });
  answer: (query: string, format: SqlFormat) => Promise<string> = async () => '{"meta":[],"data":[],"rows":0}';

  vet(query: string): Promise<SqlVetting> {
    return this.verdict(query);
  }

  run(query: string, format: SqlFormat): Promise<string> {
    this.queries.push({ query, format });
    return this.answer(query, format);
  }
}

/** A ClickHouse exception as @clickhouse/client throws it. */
export function clickhouseError(code: number, type: string, message: string): Error {
  return Object.assign(new Error(message), { code: String(code), type });
}

export { memoryCampaigns } from '@livetally/campaigns';

/** The gateway app with fakes behind every dependency; extra deps override. */
export async function makeApiApp(deps: Partial<GatewayDeps> = {}): Promise<FastifyInstance> {
  const totals = new MemoryTotals();
  const hub = new LiveHub({ reader: totals, tickMs: 1000, maxSubscriptionsPerClient: 5 });
  return buildApp({
    totals,
    hub,
    isReady: () => true,
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    ...deps,
  });
}
