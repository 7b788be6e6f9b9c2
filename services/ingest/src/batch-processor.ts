import { decodeEvent, type LiveEvent } from '@livetally/events';
import { BatchPlanner, liveKeys, type ApplyBatchInput, type ApplyOutcome, type ClaimInput, type LiveKeys } from '@livetally/counters';
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
  let fresh = batch.messages.filter((m) => offsetAfter(m.offset, applied));
  const batchLast = batch.messages[batch.messages.length - 1]?.offset;
  if (fresh.length === 0) {
    return batchLast === undefined ? { kind: 'deferred', reason: 'short-replay' } : { kind: 'skipped', lastOffset: batchLast, reason: 'already-applied' };
  }

  const first = fresh[0]!.offset;
  // An earlier attempt (this worker before a crash, or another one) may have fixed a
  // longer range starting here; it must be replayed exactly, never re-cut.
  const plan = await deps.counters.claimRange(topic, partition, first, fresh[fresh.length - 1]!.offset);
  const last = plan.last;
  if (offsetAfter(last, fresh[fresh.length - 1]!.offset)) return { kind: 'deferred', reason: 'short-replay' };
  fresh = fresh.filter((m) => !offsetAfter(m.offset, last));

  const now = deps.now();
  const valid: LiveEvent[] = [];
  const validOffsets: string[] = [];
  const letters: DeadLetter[] = [];
  for (const m of fresh) {
    const r = decodeEvent(m.value, now);
    if (r.ok) {
      valid.push(r.event);
      validOffsets.push(m.offset);
    } else {
      const step = r.errors[0]?.field === '$' ? 'decode' : 'validate';
      letters.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, step, errors: r.errors });
    }
  }

  const claims: ClaimInput[] = new Array(valid.length);
  for (let i = 0; i < valid.length; i++) {
    const e = valid[i]!;
    claims[i] = { platform: e.platform, eventId: e.eventId, ts: e.ts, partition, offset: validOffsets[i]! };
  }
  const firsts = await deps.duplicates.claim(claims);
  const events: LiveEvent[] = [];
  const rows: EventRow[] = [];
  for (let i = 0; i < valid.length; i++) {
    if (!firsts[i]) continue;
    events.push(valid[i]!);
    rows.push(toEventRow(valid[i]!, { topic, partition, offset: validOffsets[i]! }));
  }

  // Dead letters (Kafka) and the ClickHouse insert are written while the Redis writes
  // are planned; Redis is written only once both hold the batch.
  const stored = Promise.all([
    letters.length > 0 ? deps.deadLetters.publish(letters) : undefined,
    deps.history.insertEvents(rows, `${topic}:${partition}:${first}-${last}`),
  ]);
  let planned: PlannedCounters | undefined;
  let planningError: unknown;
  try {
    planned = planCounters(deps, events, now, deps.campaigns ? await deps.campaigns.get() : undefined);
  } catch (err) {
    planningError = err;
  }
  await stored; // never leaves a write running past this attempt
  if (planned === undefined) throw planningError;
  const outcome = await applyCounters(deps, { topic, partition, expectedOffset: applied, newOffset: last }, events, now, planned);
  if (!outcome.applied) {
    deps.logger.warn({ partition, expected: applied, current: 'currentOffset' in outcome ? outcome.currentOffset : undefined }, 'another worker applied this range first');
    return { kind: 'deferred', reason: 'lost-ownership' };
  }
  return { kind: 'processed', lastOffset: last, counted: events.length, duplicates: valid.length - events.length, deadLettered: letters.length };
}

/**
 * True when offset a comes after b. Offsets are non-negative decimal strings (b may
 * be "-1": nothing applied yet); compared as text, which is exact at any size.
 */
export function offsetAfter(a: string, b: string): boolean {
  if (b === '-1') return a !== '-1';
  if (a === '-1') return false;
  return a.length !== b.length ? a.length > b.length : a > b;
}

const MAX_CATALOGUE_RETRIES = 5;

type Catalogue = Awaited<ReturnType<NonNullable<BatchDeps['campaigns']>['get']>>;

interface PlannedCounters {
  catalogue: Catalogue | undefined;
  deltas: ApplyBatchInput['deltas'];
  live: NonNullable<ApplyBatchInput['live']>;
}

/** Totals deltas and live writes of the batch in one pass, matched against `catalogue`. */
function planCounters(deps: BatchDeps, events: readonly LiveEvent[], now: number, catalogue: Catalogue | undefined): PlannedCounters {
  const planner = new BatchPlanner({ now });
  const matcher = catalogue?.matcher;
  for (const e of events) planner.add(e, matcher ? matcher.scopesFor(e) : NO_SCOPES);
  return { catalogue, deltas: planner.deltas(), live: planner.encodeLive(deps.counters.liveKeys ?? liveKeys()) };
}

const NO_SCOPES: readonly string[] = [];

/**
 * Applies every Redis write of the batch (totals, minute buckets, uniques, leaderboards,
 * campaign scopes) atomically. A campaign change between planning and applying makes
 * the script refuse; the batch is then matched again.
 */
async function applyCounters(deps: BatchDeps, at: Omit<ApplyBatchInput, 'deltas'>, events: readonly LiveEvent[], now: number, planned: PlannedCounters): Promise<ApplyOutcome> {
  for (let attempt = 1; ; attempt++) {
    const { catalogue, deltas, live } = planned;
    const outcome = await deps.counters.applyBatch({
      ...at,
      deltas,
      live,
      catalogue: catalogue && deps.campaigns ? { key: deps.campaigns.versionKey, version: catalogue.version } : undefined,
    });
    if (outcome.applied || !('staleCatalogue' in outcome)) return outcome;
    deps.campaigns!.invalidate();
    if (attempt >= MAX_CATALOGUE_RETRIES) throw new Error(`campaign catalogue kept changing (now version ${outcome.catalogueVersion}); retrying the batch`);
    planned = planCounters(deps, events, now, await deps.campaigns!.get());
  }
}
