import type { LiveEvent } from '@livetally/events';
import { SESSION } from './campaign-profile';
import { SessionPlanner, type DailyCurve } from './campaign-planner';
import { SessionCursor } from './campaign-session';
import { MinHeap } from './heap';
import { HOUR_MS } from './shanghai-time';

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
 * Pure, deterministic event stream of the campaign profile, in event-time order:
 * the same options give the same events. Sessions are planned an hour ahead and
 * merged by their next event time.
 */
export class CampaignGenerator implements Iterable<LiveEvent> {
  readonly planner: SessionPlanner;
  readonly from: number;
  readonly to: number;
  private readonly prefix: string;
  private readonly heap = new MinHeap<SessionCursor>(
    (a, b) => a.nextTs < b.nextTs || (a.nextTs === b.nextTs && a.plan.no < b.plan.no),
  );
  private plannedUntil: number;
  private seq = 0;

  constructor(options: CampaignGeneratorOptions) {
    if (!(options.scale > 0)) throw new RangeError(`scale must be positive, got ${options.scale}`);
    this.planner = new SessionPlanner(options.seed, options.scale, options.curve ?? 'shanghai', options.cities);
    this.from = options.from;
    this.to = options.to ?? Infinity;
    this.prefix = options.idPrefix ?? `c${options.seed}`;
    // Plan from far enough back that sessions running at `from` exist: a steady state from the first event.
    this.plannedUntil = Math.floor((this.from - SESSION.maxDurationMs) / HOUR_MS) * HOUR_MS;
  }

  get market() {
    return this.planner.market;
  }

  /** Event time of the next event, or null when the window is exhausted. */
  peekTs(): number | null {
    this.fill();
    const top = this.heap.peek();
    return top && top.nextTs < this.to ? top.nextTs : null;
  }

  next(): LiveEvent | null {
    if (this.peekTs() === null) return null;
    const top = this.heap.peek()!;
    const event = top.pop(`${this.prefix}-${++this.seq}`);
    if (top.done) this.heap.pop();
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

  /** Plans whole hours until every event before the planned horizon is known. */
  private fill(): void {
    while (this.plannedUntil < this.to && (this.heap.size === 0 || this.heap.peek()!.nextTs >= this.plannedUntil)) {
      for (const plan of this.planner.planHour(this.plannedUntil)) {
        if (plan.endTs > this.from) this.heap.push(new SessionCursor(plan, this.from, this.prefix));
      }
      this.plannedUntil += HOUR_MS;
    }
  }
}
