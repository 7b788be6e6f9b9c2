/** Reads a Prometheus text exposition into "name{labels}" → value (comments skipped). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/** Sum of a metric over all its label sets (or the unlabelled value). */
export function metricSum(metrics: Map<string, number>, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    const bare = key.split('{')[0];
    if (bare === name && key.includes(labelFilter)) sum += value;
  }
  return sum;
}
