import { decodeEvent, type LiveEvent } from '@livetally/events';
import { aggregate, encodeLivePlan, liveKeys, planLiveWrites, type ApplyBatchInput, type ApplyOutcome, type ClaimInput, type LiveKeys } from '@livetally/counters';
import { scopesOf } from '@livetally/events';
import type { CampaignMatcher } from '@livetally/campaigns';
import { toEventRow, type EventRow } from '@livetally/history';
import type { Logger } from '@livetally/logging';
import type { BatchOutcome, DeadLetter } from './outcomes';

export interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: RawMessage[];
}

/** The I/O a batch needs; wired once in main.ts, replaced by real services in tests. */
export interface BatchDeps {
  counters: {
    appliedOffset(topic: string, partition: number): Promise<string>;
    claimRange(topic: string, partition: number, first: string, last: string): Promise<{ first: string; last: string }>;
    applyBatch(input: ApplyBatchInput): Promise<ApplyOutcome>;
    /** Key layout of the live measures (the store's prefix); tests may leave it out. */
    readonly liveKeys?: LiveKeys;
  };
  /** Campaigns to match events against; absent: no campaign scopes. */
  campaigns?: {
    get(): Promise<{ version: number; matcher: CampaignMatcher }>;
    invalidate(): void;
    versionKey: string;
  };
  duplicates: { claim(inputs: readonly ClaimInput[]): Promise<boolean[]> };
  history: { insertEvents(rows: readonly EventRow[], deduplicationToken: string): Promise<void> };
  deadLetters: { publish(letters: readonly DeadLetter[]): Promise<void> };
  /** Throws LiveStateNotReadyError (retryable) while Redis holds no live state or a rebuild runs. */
  liveState?: { ensureReady(topic: string): Promise<void> };
  now(): number;
  logger: Logger;
}

/**
 * Processes one partition's batch effectively once:
 * 1. skip what Redis says is already applied (replay after a crash or rebalance);
 * 2. fix the offset range first, so a retry inserts exactly the same rows under the
 *    same ClickHouse deduplication token;
 * 3. dead-letter invalid messages, drop platform resends of an event already
 *    counted, insert the rest into ClickHouse;
 * 4. apply counter deltas and the new offset in Redis atomically.
 * The caller resolves/commits the returned offset only after this returns.
 */
export async function processPartitionBatch(deps: BatchDeps, batch: PartitionBatch): Promise<BatchOutcome> {
  const { topic, partition } = batch;
  await deps.liveState?.ensureReady(topic);
  const applied = await deps.counters.appliedOffset(topic, partition);
  const appliedN = BigInt(applied);
  let fresh = batch.messages.filter((m) => BigInt(m.offset) > appliedN);
  const batchLast = batch.messages[batch.messages.length - 1]?.offset;
  if (fresh.length === 0) {
    return batchLast === undefined ? { kind: 'deferred', reason: 'short-replay' } : { kind: 'skipped', lastOffset: batchLast, reason: 'already-applied' };
  }

  const first = fresh[0]!.offset;
  // An earlier attempt (this worker before a crash, or another one) may have fixed a
  // longer range starting here; it must be replayed exactly, never re-cut.
  const plan = await deps.counters.claimRange(topic, partition, first, fresh[fresh.length - 1]!.offset);
  const last = plan.last;
  if (BigInt(fresh[fresh.length - 1]!.offset) < BigInt(last)) return { kind: 'deferred', reason: 'short-replay' };
  fresh = fresh.filter((m) => BigInt(m.offset) <= BigInt(last));

  const now = deps.now();
  const valid: { event: LiveEvent; offset: string }[] = [];
  const letters: DeadLetter[] = [];
  for (const m of fresh) {
    const r = decodeEvent(m.value, now);
    if (r.ok) {
      valid.push({ event: r.event, offset: m.offset });
    } else {
      const step = r.errors[0]?.field === '$' ? 'decode' : 'validate';
      letters.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, step, errors: r.errors });
    }
  }

  const firsts = await deps.duplicates.claim(valid.map(({ event, offset }) => ({ platform: event.platform, eventId: event.eventId, ts: event.ts, partition, offset })));
  const counted = valid.filter((_, i) => firsts[i]);
  const events = counted.map((v) => v.event);
  const rows: EventRow[] = counted.map((v) => toEventRow(v.event, { topic, partition, offset: v.offset }));

  if (letters.length > 0) await deps.deadLetters.publish(letters);
  await deps.history.insertEvents(rows, `${topic}:${partition}:${first}-${last}`);
  const outcome = await applyCounters(deps, { topic, partition, expectedOffset: applied, newOffset: last }, events, now);
  if (!outcome.applied) {
    deps.logger.warn({ partition, expected: applied, current: 'currentOffset' in outcome ? outcome.currentOffset : undefined }, 'another worker applied this range first');
    return { kind: 'deferred', reason: 'lost-ownership' };
  }
  return { kind: 'processed', lastOffset: last, counted: events.length, duplicates: valid.length - counted.length, deadLettered: letters.length };
}

const MAX_CATALOGUE_RETRIES = 5;

/**
 * Plans every Redis write of the batch (totals, minute buckets, uniques, leaderboards,
 * campaign scopes) and applies it atomically. A campaign change between planning and
 * applying makes the script refuse; the batch is then matched again.
 */
async function applyCounters(deps: BatchDeps, at: Omit<ApplyBatchInput, 'deltas'>, events: LiveEvent[], now: number): Promise<ApplyOutcome> {
  for (let attempt = 1; ; attempt++) {
    const catalogue = deps.campaigns ? await deps.campaigns.get() : undefined;
    const campaignScopes = (e: LiveEvent) => catalogue?.matcher.scopesFor(e) ?? [];
    const live = planLiveWrites(events, (e) => [...scopesOf(e), ...campaignScopes(e)], (e) => ['all', ...campaignScopes(e)], now, deps.counters.liveKeys ?? liveKeys());
    const outcome = await deps.counters.applyBatch({
      ...at,
      deltas: aggregate(events, campaignScopes),
      live: encodeLivePlan(live),
      catalogue: catalogue && deps.campaigns ? { key: deps.campaigns.versionKey, version: catalogue.version } : undefined,
    });
    if (outcome.applied || !('staleCatalogue' in outcome)) return outcome;
    deps.campaigns!.invalidate();
    if (attempt >= MAX_CATALOGUE_RETRIES) throw new Error(`campaign catalogue kept changing (now version ${outcome.catalogueVersion}); retrying the batch`);
  }
}
