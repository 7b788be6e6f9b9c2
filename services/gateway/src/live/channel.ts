import { updateFrame, type Channel } from './protocol';
import type { Subscriber } from './types';
import { OutFrame } from './wire';

interface SubscriptionState {
  /** Last seq this subscriber was sent; below the channel's seq means it is behind. */
  seenSeq: number;
  /** False until its snapshot went out, so no update overtakes the snapshot. */
  ready: boolean;
}

/** One watched channel: its subscribers, the last value read and its version. */
export class LiveChannel {
  readonly subscribers = new Map<Subscriber, SubscriptionState>();
  value: unknown;
  private serialized: string | undefined;
  /** Increments whenever the value changes; snapshots and updates carry it. */
  seq = 0;
  /** When the first change notification since the last fan-out arrived. */
  dirtySince: number | undefined;

  constructor(readonly channel: Channel) {}

  get name(): string {
    return this.channel.name;
  }

  get scope(): string {
    return this.channel.scope;
  }

  /** (Re)adds a subscriber that waits for its snapshot. */
  add(sub: Subscriber): void {
    this.subscribers.set(sub, { seenSeq: -1, ready: false });
  }

  /** Stores a read value; true if it differs from the previous one. */
  accept(value: unknown): boolean {
    const serialized = JSON.stringify(value);
    if (serialized === this.serialized) return false;
    this.serialized = serialized;
    this.value = value;
    this.seq++;
    return true;
  }

  /** Marks a subscriber as having been sent the current value in its snapshot. */
  markSnapshotSent(sub: Subscriber): void {
    const s = this.subscribers.get(sub);
    if (s) Object.assign(s, { seenSeq: this.seq, ready: true });
  }

  /**
   * Sends the current value, serialized once, to every ready subscriber that has not
   * seen it. A congested subscriber is skipped rather than queued behind: it gets the
   * latest value on a later tick. Returns how many were sent and how many skipped.
   */
  fanOut(ts: number, send: (sub: Subscriber, frame: OutFrame) => void): { sent: number; congested: number } {
    let frame: OutFrame | undefined;
    let sent = 0;
    let congested = 0;
    for (const [sub, s] of this.subscribers) {
      if (!this.value || !s.ready || s.seenSeq >= this.seq) continue;
      if (sub.isCongested()) {
        congested++;
        continue;
      }
      send(sub, (frame ??= new OutFrame(updateFrame(this.name, this.value, this.seq, ts))));
      s.seenSeq = this.seq;
      sent++;
    }
    return { sent, congested };
  }
}
