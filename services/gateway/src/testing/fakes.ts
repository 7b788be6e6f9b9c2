import { emptyTotals, type Totals } from '@livetally/live-state';
import type { HubClock, Subscriber, TotalsReader } from '../live/types';
import type { OutFrame } from '../live/wire';

/** In-memory TotalsReader for unit tests: records every read and can be told to fail. */
export class MemoryTotals implements TotalsReader {
  readonly data = new Map<string, Totals>();
  readonly reads: string[][] = [];
  failReads = 0;

  add(scope: string, delta: Partial<Totals>): this {
    const t = { ...(this.data.get(scope) ?? emptyTotals()) };
    for (const [k, v] of Object.entries(delta)) t[k as keyof Totals] += v;
    this.data.set(scope, t);
    return this;
  }

  async readTotals(scopes: readonly string[]): Promise<Map<string, Totals>> {
    this.reads.push([...scopes]);
    if (this.failReads > 0) {
      this.failReads--;
      throw new Error('redis unavailable');
    }
    return new Map(scopes.map((s) => [s, { ...(this.data.get(s) ?? emptyTotals()) }]));
  }
}

/** Subscriber that keeps the parsed frames it was sent. */
export class RecordingSubscriber implements Subscriber {
  readonly frames: Record<string, unknown>[] = [];
  congested = false;

  send(frame: OutFrame): void {
    this.frames.push(JSON.parse(frame.text) as Record<string, unknown>);
  }

  isCongested(): boolean {
    return this.congested;
  }

  ofType(type: string): Record<string, unknown>[] {
    return this.frames.filter((f) => f.type === type);
  }
}

/** Manual clock: time moves only when a test says so, and the tick runs only when fired. */
export class ManualClock implements HubClock {
  t = 1_700_000_000_000;
  readonly timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  /** One-shot timers (after), in the order they were set. */
  readonly timeouts: { ms: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.t;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { ms, fn, cancelled: false };
    this.timers.push(timer);
    return () => (timer.cancelled = true);
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { ms, fn, cancelled: false };
    this.timeouts.push(timer);
    return () => (timer.cancelled = true);
  }
}
