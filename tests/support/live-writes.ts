import type { Redis } from 'ioredis';
import { BatchPlanner, RedisCounterStore, partitionTag } from '@livetally/live-state';
import type { LiveEvent } from '@livetally/events';

/**
 * Writes events to Redis as an ingest worker applies a batch: totals and the live plan
 * (minute buckets, HyperLogLogs, leaderboards) in one atomic apply, which PUBLISHes the
 * changed scopes on the change channel.
 */
export class LiveWriter {
  readonly store: RedisCounterStore;
  private offset = -1;
  private ownerGen = 0;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly topic = 'live-writes',
  ) {
    this.store = new RedisCounterStore(redis, { prefix });
  }

  /** Marks Redis as holding the partition's live state and takes it, as a fresh deployment's first worker does. */
  async init(): Promise<this> {
    await this.redis.set(this.store.keys.liveState(partitionTag(this.topic, 0)), 'ready');
    // Stores with partition ownership (owner generations) refuse applies from a non-owner.
    const take = (
      this.store as unknown as {
        takePartition?(topic: string, partition: number, floor: number): Promise<{ gen: number }>;
      }
    ).takePartition;
    if (take) this.ownerGen = (await take.call(this.store, this.topic, 0, 0)).gen;
    return this;
  }

  /** Applies one batch; `campaigns` names the campaign scopes every event also counts in. */
  async apply(events: readonly LiveEvent[], campaigns: readonly string[] = []): Promise<void> {
    const planner = new BatchPlanner({ now: Date.now() });
    for (const e of events) planner.add(e, campaigns);
    const input = {
      topic: this.topic,
      partition: 0,
      ownerGen: this.ownerGen,
      expectedOffset: String(this.offset),
      newOffset: String(this.offset + 1),
      deltas: planner.deltas(),
      live: planner.encodeLive(this.store.partitionKeys(this.topic, 0)),
    };
    const outcome = await this.store.applyBatch(input);
    if (!outcome.applied) throw new Error(`batch not applied: ${JSON.stringify(outcome)}`);
    this.offset++;
  }
}

let sequence = 0;

/** A valid view or sale at `ts` (city Shenzhen, district Luohu, platform douyin unless overridden). */
export function liveEvent(type: 'view' | 'sale', ts: number, over: Partial<LiveEvent> = {}): LiveEvent {
  const base = {
    v: 1 as const,
    eventId: `e-${++sequence}`,
    platform: 'douyin',
    streamId: 's-1',
    hostId: 'h-1',
    ts,
    city: 'Shenzhen',
    district: 'Luohu',
    category: 'food',
  };
  const event: LiveEvent =
    type === 'view'
      ? { ...base, type, viewerId: `v-${sequence}` }
      : { ...base, type, orderId: `o-${sequence}`, sku: 'sku-1', quantity: 2, amountFen: 1_999 };
  return { ...event, ...over } as LiveEvent;
}
