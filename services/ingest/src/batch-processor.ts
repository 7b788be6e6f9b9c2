import { decodeEvent, type LiveEvent } from '@livetally/events';
import {
  BatchPlanner,
  DedupStateMissingError,
  liveKeys,
  type ApplyBatchInput,
  type ApplyOutcome,
  type ClaimFence,
  type ClaimInput,
  type LiveKeys,
} from '@livetally/live-state';
import type { CampaignMatcher } from '@livetally/campaigns';
import { toEventRow, type FencedRow } from '@livetally/history';
import type { Logger } from '@livetally/logging';
import type { BatchOutcome, DeadLetter } from './outcomes';

export interface RawMessage {
  offset: string;
  /** The Kafka record's timestamp (ms since the epoch, as text): the time every check of the message is judged against. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: RawMessage[];
}

/**
 * What this worker knows of a partition it owns (ADR 0001): its owner generation, the
 * last offset applied to Redis, the last offset both stores were known to hold when it
 * took the partition, which offsets after that ClickHouse already held then, and the
 * last offset whose rows it has handed to its history flusher since (a batch Kafka
 * delivers again after a rebalance must not hand them over twice).
 */
export interface OwnedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly gen: number;
  applied: string;
  readonly durable: string;
  readonly storedAfterDurable: ReadonlySet<string>;
  queued: string;
  /** The fetch position was checked against the durable offset (once per ownership). */
  positioned: boolean;
}

/** The I/O a batch needs; wired once in main.ts, replaced by real services in tests. */
export interface BatchDeps {
  counters: {
    applyBatch(input: ApplyBatchInput): Promise<ApplyOutcome>;
    /** The live measures' keys of a partition (the store's prefix, ADR 0003's per-partition share); tests may leave it out. */
    partitionKeys?(topic: string, partition: number): LiveKeys;
  };
  /** Campaigns to match events against; absent: no campaign scopes. */
  campaigns?: {
    get(): Promise<{ version: number; matcher: CampaignMatcher }>;
    invalidate(): void;
    versionKey: string;
  };
  /**
   * Null: refused, the partition changed hands or its applied offset moved (fenced like the apply).
   * Throws DedupStateMissingError while the window's fingerprints are lost: the batch waits.
   */
  duplicates: { claim(inputs: readonly ClaimInput[], fence: ClaimFence): Promise<boolean[] | null> };
  deadLetters: { publish(letters: readonly DeadLetter[]): Promise<void> };
  /** Throws LiveStateNotReadyError (retryable) while Redis holds no live state or a rebuild runs. */
  liveState?: { ensureReady(topic: string, partition: number): Promise<void> };
  /** Wall-clock time for the live windows' minute buckets (their expiry); never for deciding about a message. */
  now(): number;
  logger: Logger;
}

/**
 * Processes one batch of a partition this worker owns:
 * 1. skip what both stores hold (at or below the durable offset);
 * 2. judge every message against its own Kafka timestamp, so a retry decides the same;
 *    dead-letter the invalid ones that Redis has not seen yet;
 * 3. drop platform resends of an event already counted (claims are owned by Kafka
 *    position, so a replay of the same offset gets the same answer, and fenced like the apply);
 * 4. apply counter deltas and the new offset in Redis atomically, fenced by the owner
 *    generation and the offset read before;
 * 5. hand back the rows ClickHouse does not hold yet, for the worker's history flusher.
 * The live path never waits for ClickHouse; offsets are committed once the flusher
 * stored the rows (history-flusher.ts).
 */
export async function processPartitionBatch(
  deps: BatchDeps,
  owned: OwnedPartition,
  batch: PartitionBatch,
): Promise<BatchOutcome> {
  const { topic, partition } = batch;
  await deps.liveState?.ensureReady(topic, partition);
  const { messages } = batch;
  const batchLast = messages[messages.length - 1]?.offset;
  if (batchLast === undefined) return { kind: 'deferred', reason: 'empty' };

  // One pass over the batch, no per-message copies: each valid event becomes one claim
  // (its Kafka position kept there) beside it in `valid`.
  const valid: LiveEvent[] = [];
  const claims: ClaimInput[] = [];
  const letters: DeadLetter[] = [];
  let fresh = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (!offsetAfter(m.offset, owned.durable)) continue;
    fresh++;
    const r = decodeEvent(m.value, Number(m.timestamp));
    if (r.ok) {
      const e = r.event;
      valid.push(e);
      claims.push({ topic, platform: e.platform, eventId: e.eventId, ts: e.ts, partition, offset: m.offset });
    } else if (offsetAfter(m.offset, owned.applied)) {
      const step = r.errors[0]?.field === '$' ? 'decode' : 'validate';
      letters.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, step, errors: r.errors });
    }
  }
  if (fresh === 0) return { kind: 'skipped', lastOffset: batchLast, reason: 'already-stored' };

  const firsts = await deps.duplicates
    .claim(claims, { topic, partition, ownerGen: owned.gen, expectedOffset: owned.applied })
    .catch((err: unknown) => {
      // The operator must act (the retries alone cannot): said at error level, with what to do.
      if (err instanceof DedupStateMissingError)
        deps.logger.error({ partition, lastClaimAt: err.lastClaimAt.toISOString() }, err.message);
      throw err;
    });
  if (firsts === null) return lostOwnership(deps, owned, 'claims refused');
  const live: LiveEvent[] = [];
  const rows: FencedRow[] = [];
  let duplicates = 0;
  for (let i = 0; i < valid.length; i++) {
    if (!firsts[i]) {
      duplicates++;
      continue;
    }
    const offset = claims[i]!.offset;
    if (offsetAfter(offset, owned.applied)) live.push(valid[i]!);
    if (offsetAfter(offset, owned.queued) && !owned.storedAfterDurable.has(offset))
      rows.push({ row: toEventRow(valid[i]!, { topic, partition, offset }), ownerGen: owned.gen });
  }

  if (letters.length > 0) await deps.deadLetters.publish(letters);
  const counted = live.length;
  if (offsetAfter(batchLast, owned.applied)) {
    const outcome = await applyCounters(
      deps,
      { topic, partition, ownerGen: owned.gen, expectedOffset: owned.applied, newOffset: batchLast },
      live,
    );
    if (!outcome.applied) return lostOwnership(deps, owned, outcome);
    owned.applied = batchLast;
  }
  if (offsetAfter(batchLast, owned.queued)) owned.queued = batchLast;
  return {
    kind: 'processed',
    lastOffset: batchLast,
    rows,
    counted,
    duplicates,
    deadLettered: letters.length,
  };
}

function lostOwnership(deps: BatchDeps, owned: OwnedPartition, refusal: unknown): BatchOutcome {
  deps.logger.warn(
    { partition: owned.partition, gen: owned.gen, refusal },
    'the partition changed hands or its applied offset moved; taking it again',
  );
  return { kind: 'deferred', reason: 'lost-ownership' };
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

/** The offset after `offset` ("-1", nothing yet, is followed by "0"), exact at any size. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

const MAX_CATALOGUE_RETRIES = 5;

type Catalogue = Awaited<ReturnType<NonNullable<BatchDeps['campaigns']>['get']>>;

/** Totals deltas and live writes of the batch in one pass, matched against `catalogue`. */
function planCounters(
  deps: BatchDeps,
  at: Pick<ApplyBatchInput, 'topic' | 'partition'>,
  events: readonly LiveEvent[],
  catalogue: Catalogue | undefined,
): Pick<ApplyBatchInput, 'deltas' | 'live'> {
  const planner = new BatchPlanner({ now: deps.now() });
  const matcher = catalogue?.matcher;
  for (const e of events) planner.add(e, matcher ? matcher.scopesFor(e) : NO_SCOPES);
  const keys = deps.counters.partitionKeys
    ? deps.counters.partitionKeys(at.topic, at.partition)
    : liveKeys().partition(at.topic, at.partition);
  return { deltas: planner.deltas(), live: planner.encodeLive(keys) };
}

const NO_SCOPES: readonly string[] = [];

/**
 * Applies every Redis write of the batch (totals, minute buckets, uniques, leaderboards,
 * campaign scopes) atomically. A campaign change between planning and applying makes
 * the script refuse; the batch is then matched again.
 */
async function applyCounters(
  deps: BatchDeps,
  at: Omit<ApplyBatchInput, 'deltas'>,
  events: readonly LiveEvent[],
): Promise<ApplyOutcome> {
  for (let attempt = 1; ; attempt++) {
    const catalogue = deps.campaigns ? await deps.campaigns.get() : undefined;
    const outcome = await deps.counters.applyBatch({
      ...at,
      ...planCounters(deps, at, events, catalogue),
      catalogue:
        catalogue && deps.campaigns ? { key: deps.campaigns.versionKey, version: catalogue.version } : undefined,
    });
    if (outcome.applied || !('staleCatalogue' in outcome)) return outcome;
    deps.campaigns!.invalidate();
    if (attempt >= MAX_CATALOGUE_RETRIES)
      throw new Error(`campaign catalogue kept changing (now version ${outcome.catalogueVersion}); retrying the batch`);
  }
}
