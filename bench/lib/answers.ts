/**
 * Whether the rollups HistoryQueries picks gave the minute rollup's answer. Sums must be
 * equal. Where the viewer sketches answered unique viewers (ADR 0004: `uniqCombined(14)`,
 * about 0.8% error, against the minute rollup's `uniq`, about 2%), the two estimates may
 * differ: within VIEWER_TOLERANCE of the minute rollup's, or by 2 at small counts.
 */
export const VIEWER_TOLERANCE = 0.03;

export function sameAnswer(minute: string | undefined, rollups: string | undefined, sketched: boolean): boolean {
  if (minute === undefined || rollups === undefined) return false;
  if (!sketched) return minute === rollups;
  const strip = (json: string, into: number[]) =>
    JSON.stringify(JSON.parse(json), (key, value: unknown) => {
      if (key !== 'uniqueViewers') return value;
      into.push(Number(value));
      return 0;
    });
  const a: number[] = [];
  const b: number[] = [];
  if (strip(minute, a) !== strip(rollups, b) || a.length !== b.length) return false;
  return a.every((want, i) => Math.abs(b[i]! - want) <= Math.max(2, VIEWER_TOLERANCE * want));
}
