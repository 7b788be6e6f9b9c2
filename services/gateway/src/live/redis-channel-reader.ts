import { windowsOf, type LiveStateReader, type MinutePoint, type MinuteWindowCache } from '@livetally/live-state';
import type { Channel } from './protocol';
import type { ChannelReader } from './types';

/** Minutes a series: channel shows, and a windows: channel sums over (its longest window). */
const SERIES_MINUTES = 120;
const WINDOW_MINUTES = 60;

/** The measures a series: channel carries, one column each (see frame-schemas.ts). */
export const SERIES_COLUMNS = ['salesFen', 'refundsFen', 'orders', 'views', 'sessions'] as const;

/** Minute series travel as columns: 120 points stay one small frame. */
function columns(points: MinutePoint[]) {
  return {
    start: points[0]?.t ?? 0,
    stepMs: 60_000,
    ...Object.fromEntries(SERIES_COLUMNS.map((m) => [m, points.map((p) => p[m])])),
  };
}

/**
 * Reads every kind of live channel from Redis. Each scope is read once per call whatever
 * number of channels watch it; windows: and series: channels of a scope share its minute
 * buckets, held by the window cache between reads (only changed scopes and minutes that
 * entered the window are read again).
 */
export function redisChannelReader(state: LiveStateReader, windows: MinuteWindowCache): ChannelReader {
  return {
    noteChanged(scopes, tag) {
      if (scopes === 'all') windows.noteAllChanged();
      else windows.noteChanged(scopes, tag);
    },
    async read(channels: readonly Channel[], now: number) {
      const out = new Map<string, unknown>();
      const byKind = (kind: string) => channels.filter((c) => (c.kind ?? 'totals') === kind);
      const totals = byKind('totals');
      const windowChannels = byKind('windows');
      const seriesChannels = byKind('series');
      const depths = new Map<string, number>();
      for (const c of windowChannels) depths.set(c.scope, Math.max(depths.get(c.scope) ?? 0, WINDOW_MINUTES));
      for (const c of seriesChannels) depths.set(c.scope, SERIES_MINUTES);
      const [measures, points] = await Promise.all([
        totals.length ? state.measures([...new Set(totals.map((c) => c.scope))]) : undefined,
        depths.size ? windows.points(depths, now) : undefined,
      ]);
      for (const c of totals) out.set(c.name, measures!.get(c.scope));
      for (const c of windowChannels) out.set(c.name, windowsOf(points!.get(c.scope)!));
      for (const c of seriesChannels) out.set(c.name, columns(points!.get(c.scope)!.slice(-SERIES_MINUTES)));
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
