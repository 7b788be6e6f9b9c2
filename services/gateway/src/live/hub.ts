import { LiveChannel } from './channel';
import type { OwnerQuota } from './owner-quota';
import { errorFrame, isTimeBased, parseChannel, snapshotFrame, type Failure } from './protocol';
import {
  systemClock,
  type ChannelReader,
  type HubClock,
  type HubObserver,
  type Subscriber,
  type TotalsReader,
} from './types';
import { OutFrame } from './wire';

export type { ChannelReader, HubClock, HubObserver, Subscriber, TotalsReader } from './types';

export interface LiveHubOptions {
  reader: TotalsReader;
  /** Reads every channel kind; without one only totals channels carry data. */
  channelReader?: ChannelReader;
  tickMs: number;
  /**
   * When set, a change notification pushes the changed channels this soon after the
   * previous push (at once if that was longer ago) instead of on the next tick: the
   * tick then only moves time-based channels (windows, series) and catches up.
   */
  pushIntervalMs?: number;
  maxSubscriptionsPerClient: number;
  /** Subscriptions over every subscriber of this process (WS_MAX_SUBSCRIPTIONS_TOTAL); unbounded when absent. */
  maxSubscriptionsTotal?: number;
  /** Counts subscriptions over every subscriber with the same owner, i.e. token (WS_MAX_SUBSCRIPTIONS_PER_TOKEN); unbounded when absent. */
  ownerQuota?: OwnerQuota;
  clock?: HubClock;
  observer?: HubObserver;
}

/**
 * Channel registry, dirty set and tick loop, free of sockets and Redis.
 * Change notifications mark channels dirty; a push (pushIntervalMs after the previous
 * one at most, or the next tick) reads every dirty channel that has subscribers in ONE
 * read and sends an update only where the value changed: a burst of batches costs one
 * read and at most one update per channel per push interval. Reads (ticks and
 * snapshots) run one after another, so an older read can never overwrite a newer value.
 */
export class LiveHub {
  private readonly channels = new Map<string, LiveChannel>();
  /** scope → names of the channels a change of that scope makes dirty. */
  private readonly byScope = new Map<string, Set<string>>();
  private readonly bySubscriber = new Map<Subscriber, Set<string>>();
  /** Subscribers already removed: one whose subscribe was waiting for its owner's quota is not added. */
  private readonly removed = new WeakSet<Subscriber>();
  private readonly dirty = new Set<string>();
  private pendingSnapshots: { sub: Subscriber; name: string }[] = [];
  private reads: Promise<void> = Promise.resolve();
  private tickQueued = false;
  private snapshotsQueued = false;
  private subscriptions = 0;
  private cancelTimer: (() => void) | undefined;
  private cancelPush: (() => void) | undefined;
  private lastFlushAt = -Infinity;
  private readonly clock: HubClock;
  private observer: HubObserver;

  constructor(private readonly options: LiveHubOptions) {
    this.clock = options.clock ?? systemClock;
    this.observer = options.observer ?? {};
  }

  /** buildApp attaches its metrics here. */
  setObserver(observer: HubObserver): void {
    this.observer = observer;
  }

  start(): void {
    this.cancelTimer ??= this.clock.every(this.options.tickMs, () => void this.tick());
  }

  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.cancelPush?.();
    this.cancelPush = undefined;
  }

  /**
   * Subscribes (or re-snapshots an existing subscription); the snapshot follows
   * asynchronously. A new subscription of an owned subscriber waits for its owner's
   * quota (Redis, shared by every gateway); callers keep one subscriber's calls in order.
   */
  async subscribe(sub: Subscriber, channelText: string): Promise<{ ok: true; channel: string } | Failure> {
    const parsed = parseChannel(channelText);
    if (!parsed.ok) return parsed;
    const { name } = parsed.channel;
    if (!this.bySubscriber.get(sub)?.has(name)) {
      // Refused by the first full cap: this connection's, its token's, then the process's.
      const refused = this.connectionCap(sub) ?? (await this.takeOwnerShare(sub));
      if (refused) return refused;
      // While the token's count was taken the subscriber may have gone or subscribed this channel.
      const late = this.removed.has(sub) ? GONE : (this.connectionCap(sub) ?? this.processCap());
      const mine = this.bySubscriber.get(sub) ?? new Set<string>();
      if (late || mine.has(name)) {
        if (sub.owner !== undefined) this.options.ownerQuota?.give(sub.owner);
        if (late) return late;
      } else {
        this.bySubscriber.set(sub, mine.add(name));
        this.setSubscriptions(this.subscriptions + 1);
      }
    }
    let channel = this.channels.get(name);
    if (!channel) {
      this.channels.set(name, (channel = new LiveChannel(parsed.channel)));
      const names = this.byScope.get(channel.scope) ?? new Set<string>();
      this.byScope.set(channel.scope, names.add(name));
    }
    channel.add(sub);
    this.pendingSnapshots.push({ sub, name });
    this.scheduleSnapshots();
    return { ok: true, channel: name };
  }

  /** Returns false when the channel is invalid or was not subscribed. */
  unsubscribe(sub: Subscriber, channelText: string): boolean {
    const parsed = parseChannel(channelText);
    const mine = this.bySubscriber.get(sub);
    if (!parsed.ok || !mine?.delete(parsed.channel.name)) return false;
    if (mine.size === 0) this.bySubscriber.delete(sub);
    if (sub.owner !== undefined) this.options.ownerQuota?.give(sub.owner);
    const channel = this.channels.get(parsed.channel.name);
    channel?.subscribers.delete(sub);
    // An unwatched channel is forgotten; its next subscriber starts from a fresh snapshot.
    if (channel?.subscribers.size === 0) {
      this.channels.delete(channel.name);
      const names = this.byScope.get(channel.scope);
      names?.delete(channel.name);
      if (names?.size === 0) this.byScope.delete(channel.scope);
    }
    this.setSubscriptions(this.subscriptions - 1);
    return true;
  }

  removeSubscriber(sub: Subscriber): void {
    this.removed.add(sub);
    for (const name of [...(this.bySubscriber.get(sub) ?? [])]) this.unsubscribe(sub, name);
  }

  /** Called with the scopes of each applied batch (and the partition tag whose channel said so); cheap, reads nothing. */
  markChanged(scopes: readonly string[], tag?: string): void {
    this.options.channelReader?.noteChanged?.(scopes, tag);
    for (const scope of scopes) for (const name of this.byScope.get(scope) ?? []) this.markDirty(name);
    if (this.dirty.size > 0) this.schedulePush();
  }

  /** After the change feed was interrupted notifications may be lost: re-check every channel. */
  markAllChanged(): void {
    this.options.channelReader?.noteChanged?.('all');
    for (const name of this.channels.keys()) this.markDirty(name);
  }

  /** One tick; the timer calls it, tests call it directly. Ticks never pile up behind a slow read. */
  tick(): Promise<void> {
    if (this.tickQueued) return this.reads;
    this.tickQueued = true;
    return this.enqueue(async () => {
      this.tickQueued = false;
      for (const channel of this.channels.values()) if (isTimeBased(channel.channel)) this.dirty.add(channel.name);
      await this.flushDirty();
    });
  }

  /** Resolves once every queued read and fan-out has finished. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do await (seen = this.reads);
    while (seen !== this.reads);
  }

  stats(): { clients: number; subscriptions: number; channels: number } {
    return { clients: this.bySubscriber.size, subscriptions: this.subscriptions, channels: this.channels.size };
  }

  private connectionCap(sub: Subscriber): Failure | undefined {
    const perClient = this.options.maxSubscriptionsPerClient;
    if ((this.bySubscriber.get(sub)?.size ?? 0) < perClient) return undefined;
    return {
      ok: false,
      code: 'TOO_MANY_SUBSCRIPTIONS',
      message: `at most ${perClient} subscriptions per connection; unsubscribe first`,
    };
  }

  private processCap(): Failure | undefined {
    const total = this.options.maxSubscriptionsTotal ?? Infinity;
    if (this.subscriptions >= total)
      return {
        ok: false,
        code: 'GATEWAY_FULL',
        message: `this gateway serves its maximum of ${total} live subscriptions; try again later or another gateway`,
      };
    return undefined;
  }

  /** Takes one subscription of the subscriber's owner (its token), counted over every gateway; why not, if refused. */
  private async takeOwnerShare(sub: Subscriber): Promise<Failure | undefined> {
    const quota = this.options.ownerQuota;
    if (sub.owner === undefined || !quota) return undefined;
    const verdict = await quota.take(sub.owner);
    if (verdict === 'ok') return undefined;
    return verdict === 'full'
      ? {
          ok: false,
          code: 'TOO_MANY_SUBSCRIPTIONS',
          message: `at most ${quota.max} subscriptions per token over all its connections to every gateway; unsubscribe first`,
        }
      : {
          ok: false,
          code: 'NOT_READY',
          message: "could not count the token's subscriptions (Redis did not answer); subscribe again shortly",
        };
  }

  /** Coalesces change notifications into at most one push per pushIntervalMs (only while started). */
  private schedulePush(): void {
    const interval = this.options.pushIntervalMs;
    if (interval === undefined || this.cancelPush || !this.cancelTimer) return;
    const wait = Math.max(0, this.lastFlushAt + interval - this.clock.now());
    this.cancelPush = this.clock.after(wait, () => {
      this.cancelPush = undefined;
      void this.enqueue(() => this.flushDirty());
    });
  }

  private markDirty(name: string): void {
    const channel = this.channels.get(name);
    if (!channel) return; // nobody watches it: nothing to send
    this.dirty.add(name);
    channel.dirtySince ??= this.clock.now();
  }

  private setSubscriptions(total: number): void {
    this.subscriptions = total;
    this.observer.onSubscriptions?.(total);
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.reads = this.reads.then(job).catch((err: unknown) => this.observer.onReadError?.(err));
    return this.reads;
  }

  private scheduleSnapshots(): void {
    if (this.snapshotsQueued) return;
    this.snapshotsQueued = true;
    void this.enqueue(async () => {
      this.snapshotsQueued = false;
      await this.sendSnapshots();
    });
  }

  /** Reads the given channels, keyed by channel name; on failure reports it and returns null. */
  private async read(channels: LiveChannel[]): Promise<Map<string, unknown> | null> {
    try {
      if (this.options.channelReader)
        return await this.options.channelReader.read(
          channels.map((c) => c.channel),
          this.clock.now(),
        );
      const totals = await this.options.reader.readTotals(channels.map((c) => c.scope));
      return new Map(
        channels.flatMap((c) =>
          (!c.channel.kind || c.channel.kind === 'totals') && totals.has(c.scope)
            ? [[c.name, totals.get(c.scope)]]
            : [],
        ),
      );
    } catch (err) {
      this.observer.onReadError?.(err);
      return null;
    }
  }

  private async flushDirty(): Promise<void> {
    const channels = [...this.dirty].map((name) => this.channels.get(name)).filter((c) => c !== undefined);
    this.dirty.clear();
    // Only a flush that reads counts as a push: an empty tick must not hold back the next change.
    if (channels.length === 0) return;
    this.lastFlushAt = this.clock.now();
    const values = await this.read(channels);
    if (!values) {
      for (const c of channels) this.dirty.add(c.name); // retried on the next tick
      return;
    }
    const ts = this.clock.now();
    for (const channel of channels) {
      if (this.channels.get(channel.name) !== channel) continue; // dropped while reading
      const value = values.get(channel.name);
      if (value !== undefined) channel.accept(value);
      const { sent, congested } = channel.fanOut(ts, safeSend);
      if (sent > 0) {
        this.observer.onFramesSent?.('update', sent);
        if (channel.dirtySince !== undefined) this.observer.onFanOut?.(ts - channel.dirtySince, sent);
      }
      if (congested > 0) {
        this.observer.onUpdatesDeferred?.(congested);
        this.dirty.add(channel.name);
      } else channel.dirtySince = undefined;
    }
  }

  private async sendSnapshots(): Promise<void> {
    const batch = this.pendingSnapshots.splice(0).filter((p) => this.channels.get(p.name)?.subscribers.has(p.sub));
    const channels = [...new Set(batch.map((p) => this.channels.get(p.name)!))];
    if (channels.length === 0) return;
    const values = (await this.read(channels)) ?? new Map<string, unknown>();
    const ts = this.clock.now();
    for (const channel of channels) {
      const value = values.get(channel.name);
      // A fresher value leaves the channel's other subscribers behind: the next tick catches them up.
      if (value !== undefined && channel.accept(value) && channel.subscribers.size > 1) this.markDirty(channel.name);
    }
    let sent = 0;
    // Clients connecting together (a screen wall, a reconnect storm) share one snapshot per channel.
    const snapshots = new Map<LiveChannel, OutFrame>();
    for (const { sub, name } of batch) {
      const channel = this.channels.get(name);
      if (!channel?.subscribers.has(sub)) continue; // unsubscribed while reading
      if (!values.has(channel.name) || channel.value === undefined) {
        this.unsubscribe(sub, name);
        safeSend(
          sub,
          new OutFrame(errorFrame('NOT_READY', 'could not read the totals; subscribe again shortly', name)),
        );
        this.observer.onFramesSent?.('error', 1);
        continue;
      }
      let snapshot = snapshots.get(channel);
      if (!snapshot)
        snapshots.set(channel, (snapshot = new OutFrame(snapshotFrame(name, channel.value, channel.seq, ts))));
      safeSend(sub, snapshot);
      channel.markSnapshotSent(sub);
      sent++;
    }
    if (sent > 0) this.observer.onFramesSent?.('snapshot', sent);
  }
}

const GONE: Failure = { ok: false, code: 'NOT_READY', message: 'the connection closed while subscribing' };

// A failing socket must not stop the fan-out to the others; its close handler cleans it up.
function safeSend(sub: Subscriber, frame: OutFrame): void {
  try {
    sub.send(frame);
  } catch {
    /* ignored on purpose */
  }
}
