/** Asia/Shanghai has been UTC+8 without daylight saving since 1991. */
export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Hour of day (0–23) in Asia/Shanghai. */
export function shanghaiHour(ts: number): number {
  return ((Math.floor((ts + SHANGHAI_OFFSET_MS) / HOUR_MS) % 24) + 24) % 24;
}

/**
 * "2024-08-23" is midnight in Asia/Shanghai; a full ISO timestamp must carry its
 * zone ("2024-08-23T20:00:00+08:00"). Returns NaN for anything else.
 */
export function parseShanghaiTime(text: string): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) {
    const ts = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])) - SHANGHAI_OFFSET_MS;
    return new Date(ts + SHANGHAI_OFFSET_MS).toISOString().startsWith(text) ? ts : Number.NaN;
  }
  return /(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : Number.NaN;
}

/** "2024-09-21 20:15" in Asia/Shanghai. */
export function formatShanghai(ts: number): string {
  return new Date(ts + SHANGHAI_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}
