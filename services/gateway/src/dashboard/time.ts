/** The screen's time zone when no campaign names one. */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

/** A wall-clock time in a zone: 'HH:mm:ss', or with the date 'YYYY-MM-DD HH:mm'. */
export function zoned(ms: number, withDate: boolean, timeZone: string = DEFAULT_TIME_ZONE): string {
  try {
    const parts: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
    const format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    for (const p of format.formatToParts(ms)) parts[p.type] = p.value;
    return withDate
      ? `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`
      : `${parts.hour}:${parts.minute}:${parts.second}`;
  } catch {
    return new Date(ms).toISOString(); // an unknown time zone name
  }
}
