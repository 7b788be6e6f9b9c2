import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, type CampaignStagingKeys } from '@livetally/live-state';
import { coverageOf, stagingScope, type Campaign, type CatalogueCampaign } from './campaign';

/**
 * Campaign definitions: ClickHouse (lt_campaigns, ReplacingMergeTree by version) is
 * the durable record; Redis holds the working copy every worker and gateway reads,
 * plus a catalogue version that changes with every write, so a worker can tell its
 * copy is stale. Beside it, the backfill bookkeeping (see CampaignStaging): which
 * campaigns still need their figures rebuilt from history (`pending`), which backfill
 * generation is building them aside (`staging`), and what each definition covers
 * (`coverage`), so a save decides atomically whether it needs a backfill.
 */
export interface CampaignKeys extends CampaignStagingKeys {
  changes: string;
  /** Hash id → coverageOf(definition) of the definition in the catalogue. */
  coverage: string;
}

export function campaignKeys(prefix = DEFAULT_KEY_PREFIX): CampaignKeys {
  return {
    catalogue: `${prefix}:campaigns`,
    version: `${prefix}:campaigns:version`,
    changes: `${prefix}:campaigns:changed`,
    pending: `${prefix}:campaigns:pending`,
    staging: `${prefix}:campaigns:staging`,
    coverage: `${prefix}:campaigns:coverage`,
    lease: (id) => `${prefix}:campaigns:lease:${id}`,
  };
}

/** What a save did: the new catalogue version, and whether the campaign's figures must be rebuilt from history. */
export interface SaveOutcome {
  catalogueVersion: number;
  backfill: boolean;
}

// KEYS: catalogue, catalogue version, pending, staging registry, coverage.
// ARGV: id, definition (JSON), campaign version, coverage, change channel.
// A definition covering other events than the stored one marks the campaign pending and
// unregisters any backfill generation building figures for the old coverage, in the same
// step as it replaces the definition: no backfill of an older definition can swap in.
const SAVE = `
local covers = redis.call('HGET', KEYS[5], ARGV[1]) ~= ARGV[4]
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if covers then
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[4])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('HDEL', KEYS[4], ARGV[1])
end
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[5], ARGV[1])
return {version, covers and 1 or 0}`;

export class CampaignStore {
  readonly keys: CampaignKeys;

  constructor(
    private readonly redis: Redis,
    private readonly clickhouse: ClickHouseClient,
    prefix = DEFAULT_KEY_PREFIX,
  ) {
    this.keys = campaignKeys(prefix);
    redis.defineCommand('ltSaveCampaign', { lua: SAVE, numberOfKeys: 5 });
  }

  async list(): Promise<Campaign[]> {
    const all = await this.redis.hvals(this.keys.catalogue);
    return all
      .map((json) => JSON.parse(json) as Campaign)
      .sort((a, b) => a.startsAt - b.startsAt || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<Campaign | null> {
    const json = await this.redis.hget(this.keys.catalogue, id);
    return json ? (JSON.parse(json) as Campaign) : null;
  }

  /**
   * The catalogue version and its campaigns, read together, each with its staging scope
   * while a backfill builds its figures aside (workers count matching events there too).
   */
  async snapshot(): Promise<{ version: number; campaigns: CatalogueCampaign[] }> {
    const replies = (await this.redis
      .multi()
      .get(this.keys.version)
      .hvals(this.keys.catalogue)
      .hgetall(this.keys.staging)
      .exec()) as [[null, string | null], [null, string[]], [null, Record<string, string>]];
    const [[, version], [, all], [, staging]] = replies;
    const campaigns = all.map((json) => {
      const c = JSON.parse(json) as CatalogueCampaign;
      return staging[c.id] === undefined ? c : { ...c, stagingScope: stagingScope(c.id) };
    });
    return { version: Number(version ?? 0), campaigns };
  }

  /** Ids of campaigns whose figures still have to be rebuilt from history (a backfill did not finish). */
  async pendingBackfills(): Promise<string[]> {
    return this.redis.hkeys(this.keys.pending);
  }

  /**
   * Writes durably first, then publishes to Redis with a new catalogue version; says
   * whether the campaign now covers other events than before (then it needs a backfill).
   */
  async save(campaign: Campaign): Promise<SaveOutcome> {
    await this.clickhouse.insert({
      table: 'lt_campaigns',
      values: [
        { id: campaign.id, version: campaign.version, body: JSON.stringify(campaign), updated_at: campaign.updatedAt },
      ],
      format: 'JSONEachRow',
    });
    const k = this.keys;
    const [version, covers] = await (
      this.redis as unknown as Record<string, (...a: string[]) => Promise<[number, number]>>
    ).ltSaveCampaign!(
      k.catalogue,
      k.version,
      k.pending,
      k.staging,
      k.coverage,
      campaign.id,
      JSON.stringify(campaign),
      String(campaign.version),
      coverageOf(campaign),
      k.changes,
    );
    return { catalogueVersion: version, backfill: covers === 1 };
  }

  /**
   * Restores Redis's working copy from ClickHouse (after Redis lost its data). Running
   * backfills are unregistered (a rebuild recomputes every campaign; pending ones are
   * backfilled again afterwards).
   */
  async restoreFromHistory(): Promise<number> {
    const rs = await this.clickhouse.query({
      query: 'SELECT argMax(body, version) AS body FROM lt_campaigns GROUP BY id',
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ body: string }>();
    const multi = this.redis.multi().del(this.keys.staging);
    for (const { body } of rows) {
      const campaign = JSON.parse(body) as Campaign;
      multi.hset(this.keys.catalogue, campaign.id, body).hset(this.keys.coverage, campaign.id, coverageOf(campaign));
    }
    await multi.incr(this.keys.version).exec();
    return rows.length;
  }
}
