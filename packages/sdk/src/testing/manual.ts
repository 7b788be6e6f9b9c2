import type { LiveEvent } from '@livetally/events';
import type { BatchResponse, Scheduler, Transport } from '../types';

/** A clock that moves only when told; due timers run in time order, with promise callbacks settled in between. */
export class ManualScheduler implements Scheduler {
  time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + Math.max(0, ms), fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pendingTimers(): number[] {
    return this.timers.map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
      await settle();
    }
    this.time = target;
  }
}

/** Lets every pending promise callback run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** A transport answering from a script (default: all accepted) and recording every batch with the time it was sent. */
export class ScriptedTransport implements Transport {
  readonly calls: { at: number; events: LiveEvent[] }[] = [];
  readonly script: ((events: readonly LiveEvent[]) => BatchResponse)[] = [];
  closed = false;

  constructor(private readonly clock: { now(): number }) {}

  async sendBatch(events: readonly LiveEvent[]): Promise<BatchResponse> {
    this.calls.push({ at: this.clock.now(), events: [...events] });
    const next = this.script.shift();
    return next ? next(events) : { kind: 'results', results: events.map(() => ({ status: 'accepted' })) };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  ids(call: number): string[] {
    return this.calls[call]!.events.map((e) => e.eventId);
  }
}
