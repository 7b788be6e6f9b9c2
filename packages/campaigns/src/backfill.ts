import { LIVE_RANK_DIMENSIONS, LIVE_RANK_MEASURES, LIVE_STATE_GATE, MINUTE_BUCKET_TTL_SECONDS, keySpace, liveKeys, liveStateError, waitUntilDurable } from '@livetally/counters';
import type { CampaignBackfillQueries } from '@livetally/history';
import type { Redis } from 'ioredis';
import type { Campaign } from './campaign';
import type { Backfill } from './service';

const MINUTE = 60_000;
const VIEWER_CHUNK = 5_000;

// Atomically: the cut (every partition's applied offset) and an empty live state for
// the campaign scope. Batches applied after this count the campaign live (their
// catalogue version is checked by the apply script); everything at or below the cut
// is added from ClickHouse below. KEYS: offsets, marker, lock, then the keys to clear.
const TAKE_CUT = `${LIVE_STATE_GATE}
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
return redis.call('HGETALL', KEYS[1])`;

export interface CampaignBackfillDeps {
  redis: Redis;
  queries: Pick<CampaignBackfillQueries, 'aggregates' | 'forEachViewerChunk'>;
  prefix?: string;
  topic: string;
  now(): number;
  progress?(campaign: Campaign, message: string): void;
}

/**
 * Makes a campaign's live state exact for its current definition: clear and cut in
 * one step, then add what ClickHouse holds up to the cut. Runs while ingest goes on.
 */
export function createCampaignBackfill(deps: CampaignBackfillDeps): Backfill {
  const keys = keySpace(deps.prefix);
  const live = liveKeys(deps.prefix);
  deps.redis.defineCommand('ltTakeCampaignCut', { lua: TAKE_CUT });
  const progress = (c: Campaign, m: string) => deps.progress?.(c, m);

  return async (campaign) => {
    const scope = `campaign:${campaign.id}`;
    const now = deps.now();
    const sinceMinute = Math.floor((now - MINUTE_BUCKET_TTL_SECONDS * 1000) / MINUTE) * MINUTE;
    const cleared = [keys.totals(scope), live.viewers(scope), live.hosts(scope)];
    for (const d of LIVE_RANK_DIMENSIONS) for (const m of LIVE_RANK_MEASURES) cleared.push(live.ranking(scope, d, m));
    for (let t = sinceMinute; t <= now; t += MINUTE) cleared.push(live.minute(scope, t));
    const command = (deps.redis as unknown as Record<string, (...a: unknown[]) => Promise<string[]>>).ltTakeCampaignCut!;
    const flat = await command.call(deps.redis, 3 + cleared.length, keys.appliedOffsets(deps.topic), keys.liveState, keys.rebuildLock, ...cleared).catch((err: unknown) => {
      throw liveStateError(err) ?? err;
    });
    const upTo = new Map<number, string>();
    for (let i = 0; i < flat.length; i += 2) if (/^\d+$/.test(flat[i]!)) upTo.set(Number(flat[i]), flat[i + 1]!);
    // Live state is applied before its rows reach ClickHouse: read history only once it holds the cut.
    await waitUntilDurable(deps.redis, keys.appliedOffsets(deps.topic), upTo);
    progress(campaign, `cut taken at ${upTo.size} partition offset(s); reading history`);

    const slice = { topic: deps.topic, upTo, startsAt: campaign.startsAt, endsAt: campaign.endsAt, filters: campaign.filters };
    const agg = await deps.queries.aggregates(slice, sinceMinute);
    const p = deps.redis.pipeline();
    for (const [field, value] of Object.entries(agg.totals)) if (value !== 0) p.hincrby(keys.totals(scope), field, value);
    for (const { t, totals } of agg.minutes) {
      const key = live.minute(scope, t);
      for (const [field, value] of Object.entries(totals)) if (value !== 0) p.hincrby(key, field, value);
      p.expire(key, Math.max(1, Math.ceil((t + MINUTE_BUCKET_TTL_SECONDS * 1000 - now) / 1000)));
    }
    for (const [dimension, byMeasure] of Object.entries(agg.rankings)) {
      for (const [measure, members] of Object.entries(byMeasure)) {
        for (const [member, value] of Object.entries(members)) p.zincrby(live.ranking(scope, dimension as never, measure as never), value, member);
      }
    }
    for (let i = 0; i < agg.hosts.length; i += 1_000) p.pfadd(live.hosts(scope), ...agg.hosts.slice(i, i + 1_000));
    await p.exec();
    const viewers = await deps.queries.forEachViewerChunk(slice, VIEWER_CHUNK, async (chunk) => {
      await deps.redis.pfadd(live.viewers(scope), ...chunk);
    });
    await deps.redis.publish(keys.changesChannel, JSON.stringify([scope]));
    progress(campaign, `backfilled ${agg.totals.orders ?? 0} orders, ${agg.totals.views ?? 0} views, ${viewers} distinct viewers, ${agg.minutes.length} live minute(s)`);
  };
}
