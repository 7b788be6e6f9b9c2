import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  function: string;
  where: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  top: HotSpot[];
  /** Self time grouped by where the code lives: a package, node internals, the program, GC. */
  byArea: { area: string; selfMs: number; selfPercent: number }[];
}

/** Where a frame's code lives, coarse enough to name the hot component. */
function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn;
  if (url === '') return 'native/builtin';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const ws = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (ws) return `${ws[1]}/${ws[2]}`;
  return basename(url);
}

/**
 * The profile of a process's main thread: node --cpu-prof writes one file per thread
 * (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; tsx adds a module-loader thread),
 * so of the files of that pid the one with the most busy time is taken.
 */
export function summarizeProcessProfile(dir: string, pid: number, topN = 15): ProfileSummary | null {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid));
  } catch {
    return null;
  }
  const summaries = files.map((f) => summarizeProfile(join(dir, f), topN));
  return summaries.sort((a, b) => b.totalMs - a.totalMs)[0] ?? null;
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fns = new Map<string, { function: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const fn = functionName || '(anonymous)';
    const area = areaOf(url, fn);
    if (area === '(idle)') continue;
    busyUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = url
      ? `${url.replace(/^file:\/\//, '').replace(/^.*?\/(node_modules|packages|services|bench)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const key = `${fn}@${where}`;
    const entry = fns.get(key) ?? { function: fn, where, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  const pct = (us: number) => Math.round((1000 * us) / Math.max(busyUs, 1)) / 10;
  return {
    file,
    totalMs: Math.round(busyUs / 1000),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ function: e.function, where: e.where, selfMs: Math.round(e.us / 1000), selfPercent: pct(e.us) })),
    byArea: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([area, us]) => ({ area, selfMs: Math.round(us / 1000), selfPercent: pct(us) })),
  };
}
