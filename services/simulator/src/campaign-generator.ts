import type { LiveEvent } from '@livetally/events';
import { dayIndex, dayStart } from './campaign-ledger';
import { SessionPlanner, type DailyCurve } from './campaign-planner';
import { SessionCursor } from './campaign-session';
import { MinHeap } from './heap';

export interface CampaignGeneratorOptions {
  seed: number;
  /** Fraction of the real market: 1 plays 40.8 billion yuan of Shenzhen sales over the campaign month. */
  scale: number;
  /** Start of the played window (ms). Sessions already running then join in progress. */
  from: number;
  /** Exclusive end of the window (ms); events at or after it are not produced. Default: never. */
  to?: number;
  curve?: DailyCurve;
  /** Only these cities (default: all). */
  cities?: readonly string[];
  /** Prefix of event and stream ids; default `c<seed>`. */
  idPrefix?: string;
}

/**
 * Pure, deterministic event stream of the campaign plan, in event-time order: the
 * same options give the same events. Days are planned one ahead of the events played
 * (a session starting late on a day runs into the next, whose share it needs), and
 * sessions are merged by their next event time; memory holds the sessions of about
 * two days and the orders of the day pieces being played, never the whole window.
 */
export class CampaignGenerator implements Iterable<LiveEvent> {
  readonly planner: SessionPlanner;
  readonly from: number;
  readonly to: number;
  private readonly prefix: string;
  private order = 0;
  private readonly heap = new MinHeap<{ cursor: SessionCursor; order: number }>(
    (a, b) => a.cursor.nextTs < b.cursor.nextTs || (a.cursor.nextTs === b.cursor.nextTs && a.order < b.order),
  );
  /** The last day planned (its sessions exist and its views and sales are shared out). */
  private plannedDay: number;
  private seq = 0;

  constructor(options: CampaignGeneratorOptions) {
    if (!(options.scale > 0)) throw new RangeError(`scale must be positive, got ${options.scale}`);
    this.planner = new SessionPlanner(options.seed, options.scale, options.curve ?? 'shanghai', options.cities);
    this.from = options.from;
    this.to = options.to ?? Infinity;
    this.prefix = options.idPrefix ?? `c${options.seed}`;
    // The day before `from` only for its sessions that are still running at `from` (sessions last under a day).
    const first = dayIndex(this.from);
    const before = this.planner.planDay(first - 1, false);
    const today = this.planner.planDay(first);
    this.plannedDay = first;
    this.add(before);
    this.add(today);
    this.planThrough(first + 1);
  }

  get market() {
    return this.planner.market;
  }

  /** Event time of the next event, or null when the window is exhausted. */
  peekTs(): number | null {
    const top = this.heap.peek();
    if (top) this.planThrough(dayIndex(top.cursor.nextTs) + 1);
    const next = this.heap.peek();
    return next && next.cursor.nextTs < this.to ? next.cursor.nextTs : null;
  }

  next(): LiveEvent | null {
    if (this.peekTs() === null) return null;
    const top = this.heap.peek()!;
    const event = top.cursor.pop(`${this.prefix}-${++this.seq}`);
    if (top.cursor.done) this.heap.pop();
    else this.heap.siftDown();
    return event;
  }

  /** Events up to (and including) event time `ts`, at most `max` of them. */
  until(ts: number, max = Infinity): LiveEvent[] {
    const out: LiveEvent[] = [];
    for (let t = this.peekTs(); t !== null && t <= ts && out.length < max; t = this.peekTs()) out.push(this.next()!);
    return out;
  }

  *[Symbol.iterator](): Iterator<LiveEvent> {
    for (let e = this.next(); e !== null; e = this.next()) yield e;
  }

  /** Plans whole days up to `day`, none starting at or after the window's end. */
  private planThrough(day: number): void {
    while (this.plannedDay < day && dayStart(this.plannedDay + 1) < this.to) {
      this.add(this.planner.planDay(++this.plannedDay));
    }
  }

  private add(plans: readonly ReturnType<SessionPlanner['planDay']>[number][]): void {
    for (const plan of plans) {
      if (plan.endTs <= this.from) continue;
      const cursor = new SessionCursor(plan, this.from, this.prefix);
      if (!cursor.done) this.heap.push({ cursor, order: ++this.order });
    }
  }
}
