import type { Redis } from 'ioredis';
import {
  CampaignStaging,
  RETIRE_GRACE_MS,
  campaignKeys,
  waitUntilDurable,
  type StagedScope,
} from '@livetally/live-state';
import type { BackfillSlice, CampaignBackfillQueries } from '@livetally/history';
import { campaignScope, type Campaign } from './campaign';
import type { Backfill } from './service';

const VIEWER_CHUNK = 5_000;
/** A dead holder's lease expires this long after its last refresh; then another process takes over. */
const BACKFILL_LEASE_MS = 10_000;
const LEASE_POLL_MS = 500;
/** Superseded runs (a newer change or another process took a newer cut) before one call gives up. */
const MAX_SUPERSEDED = 5;
/** Longest one call waits for another holder and runs, before it reports failure (the campaign stays pending). */
const DEADLINE_MS = 15 * 60_000;

export interface CampaignBackfillDeps {
  redis: Redis;
  queries: Pick<CampaignBackfillQueries, 'aggregates' | 'forEachViewerChunk'>;
  prefix?: string;
  topic: string;
  now(): number;
  progress?(campaign: Campaign, message: string): void;
}

type RunOutcome = 'nothing-pending' | 'swapped' | 'superseded';

class Superseded extends Error {}

/**
 * Makes a campaign's live figures exact for its current definition while ingest goes
 * on: under the campaign's lease (one process at a time, whichever ingest worker), it cuts,
 * builds the figures aside from ClickHouse up to the cut while workers add live events
 * to them, and swaps them in atomically (CampaignStaging explains why that is exact).
 * Readers keep the previous figures until the swap. It returns once nothing is pending
 * for the campaign, whoever did the work; a run that a newer change (or another
 * process) superseded is redone for the definition then current. The campaign stays
 * pending until a swap succeeds, so a process killed mid-way leaves it to the next one.
 */
export function createCampaignBackfill(deps: CampaignBackfillDeps): Backfill {
  const staging = new CampaignStaging(deps.redis, {
    prefix: deps.prefix,
    topic: deps.topic,
    keys: campaignKeys(deps.prefix),
  });
  const progress = (c: Campaign, m: string) => deps.progress?.(c, m);

  const runOnce = async (
    campaign: Campaign,
    scope: StagedScope,
    lease: { lost: boolean },
    signal: AbortSignal | undefined,
  ): Promise<RunOutcome> => {
    const cut = await staging.takeCut(scope, deps.now());
    if (!cut) return 'nothing-pending';
    const check = () => {
      signal?.throwIfAborted();
      if (lease.lost) throw new Superseded('lost the lease');
    };
    // Live state is applied before its rows reach ClickHouse: read history only once it holds the cut.
    await waitUntilDurable(deps.redis, (p) => staging.offsetsKey(p), cut.upTo);
    check();
    const definition = JSON.parse(cut.definition) as Campaign;
    progress(
      campaign,
      `cut taken at ${cut.upTo.size} partition offset(s) for version ${definition.version}; building the figures aside`,
    );
    // Per partition (ADR 0003): each partition's history rows up to its cut point go into its share.
    let orders = 0;
    let views = 0;
    let viewers = 0;
    for (const [partition, upTo] of [...cut.upTo].sort((a, b) => a[0] - b[0])) {
      const slice: BackfillSlice = {
        topic: deps.topic,
        upTo: new Map([[partition, upTo]]),
        startsAt: definition.startsAt,
        endsAt: definition.endsAt,
        filters: definition.filters,
      };
      const agg = await deps.queries.aggregates(slice, cut.sinceMinute);
      check();
      if (!(await staging.stage(scope, cut, partition, agg))) return 'superseded';
      const stageViewers = async (ids: string[]) => {
        check();
        if (!(await staging.stage(scope, cut, partition, { viewers: ids })))
          throw new Superseded('generation superseded');
      };
      viewers += await deps.queries.forEachViewerChunk(slice, VIEWER_CHUNK, stageViewers);
      orders += agg.totals.orders ?? 0;
      views += agg.totals.views ?? 0;
    }
    check();
    const swapped = await staging.swap(scope, cut);
    if (!swapped) return 'superseded';
    progress(
      campaign,
      `swapped in: ${orders} orders, ${views} views, ${viewers} viewers (summed over partitions) from history, plus live events since the cut`,
    );
    // The previous generation's shares go once readers that resolved it just before the swap are done.
    await sleep(RETIRE_GRACE_MS, undefined);
    await staging.retire(scope, swapped, cut.sinceMinute, deps.now());
    return 'swapped';
  };

  return async (campaign, options = {}) => {
    const { signal } = options;
    const scope: StagedScope = { id: campaign.id, live: campaignScope(campaign.id) };
    const deadline = Date.now() + DEADLINE_MS;
    for (let superseded = 0; ;) {
      signal?.throwIfAborted();
      if (Date.now() > deadline)
        throw new Error(
          `campaign ${campaign.id}: backfill did not finish within ${DEADLINE_MS / 60_000} min; it stays pending`,
        );
      const lease = await staging.acquireLease(campaign.id, BACKFILL_LEASE_MS);
      if (!lease) {
        // Another process runs it (or died holding the lease, which then expires).
        if (!(await staging.isPending(campaign.id))) return;
        await sleep(LEASE_POLL_MS, signal);
        continue;
      }
      let outcome: RunOutcome;
      try {
        outcome = await runOnce(campaign, scope, lease, signal).catch((err: unknown) => {
          if (err instanceof Superseded) return 'superseded' as const;
          throw err;
        });
      } finally {
        await lease.release().catch(() => undefined);
      }
      if (outcome === 'nothing-pending') return;
      if (outcome !== 'superseded') continue; // swapped: done unless a newer change is pending meanwhile
      if (++superseded >= MAX_SUPERSEDED)
        throw new Error(`campaign ${campaign.id}: backfill superseded ${superseded} times; it stays pending`);
      progress(campaign, 'superseded by a newer change or another process; redoing it for the definition now current');
    }
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', done);
      clearTimeout(timer);
      if (signal?.aborted) reject(signal.reason);
      else resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
