import type { LiveStateReader, MinutePoint } from '@livetally/counters';
import type { Channel } from './protocol';
import type { ChannelReader } from './types';

/** Minute series travel as columns: 120 points stay one small frame. */
function columns(points: MinutePoint[]) {
  return {
    start: points[0]?.t ?? 0,
    stepMs: 60_000,
    salesFen: points.map((p) => p.salesFen),
    refundsFen: points.map((p) => p.refundsFen),
    orders: points.map((p) => p.orders),
    views: points.map((p) => p.views),
    sessions: points.map((p) => p.sessions),
  };
}

/** Reads every kind of live channel from Redis, one pipeline per kind. */
export function redisChannelReader(state: LiveStateReader): ChannelReader {
  return {
    async read(channels: readonly Channel[], now: number) {
      const out = new Map<string, unknown>();
      const byKind = (kind: string) => channels.filter((c) => (c.kind ?? 'totals') === kind);
      const scopes = (list: readonly Channel[]) => [...new Set(list.map((c) => c.scope))];
      const totals = byKind('totals');
      const windows = byKind('windows');
      const series = byKind('series');
      const [measures, windowValues, seriesValues] = await Promise.all([
        totals.length ? state.measures(scopes(totals)) : undefined,
        windows.length ? state.windows(scopes(windows), now) : undefined,
        series.length ? state.series(scopes(series), now) : undefined,
      ]);
      for (const c of totals) out.set(c.name, measures!.get(c.scope));
      for (const c of windows) out.set(c.name, windowValues!.get(c.scope));
      for (const c of series) out.set(c.name, columns(seriesValues!.get(c.scope) ?? []));
      await Promise.all(
        byKind('rankings').map(async (c) => {
          const ranking = await state.ranking(c.scope, c.dimension!, c.measure!);
          out.set(c.name, ranking);
        }),
      );
      return out;
    },
  };
}
