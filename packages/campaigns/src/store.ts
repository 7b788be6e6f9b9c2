import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import type { Campaign } from './campaign';

/**
 * Campaign definitions: ClickHouse (lt_campaigns, ReplacingMergeTree by version) is
 * the durable record; Redis holds the working copy every worker and gateway reads,
 * plus a catalogue version that changes with every write, so a worker can tell its
 * copy is stale.
 */
export interface CampaignKeys {
  catalogue: string;
  version: string;
  changes: string;
}

export function campaignKeys(prefix = 'lt'): CampaignKeys {
  return { catalogue: `${prefix}:campaigns`, version: `${prefix}:campaigns:version`, changes: `${prefix}:campaigns:changed` };
}

export class CampaignStore {
  readonly keys: CampaignKeys;

  constructor(
    private readonly redis: Redis,
    private readonly clickhouse: ClickHouseClient,
    prefix = 'lt',
  ) {
    this.keys = campaignKeys(prefix);
  }

  async list(): Promise<Campaign[]> {
    const all = await this.redis.hvals(this.keys.catalogue);
    return all.map((json) => JSON.parse(json) as Campaign).sort((a, b) => a.startsAt - b.startsAt || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<Campaign | null> {
    const json = await this.redis.hget(this.keys.catalogue, id);
    return json ? (JSON.parse(json) as Campaign) : null;
  }

  /** The catalogue version and its campaigns, read together. */
  async snapshot(): Promise<{ version: number; campaigns: Campaign[] }> {
    const [[, version], [, all]] = (await this.redis.multi().get(this.keys.version).hvals(this.keys.catalogue).exec()) as [[null, string | null], [null, string[]]];
    return { version: Number(version ?? 0), campaigns: all.map((json) => JSON.parse(json) as Campaign) };
  }

  /** Writes durably first, then publishes to Redis with a new catalogue version. */
  async save(campaign: Campaign): Promise<number> {
    await this.clickhouse.insert({
      table: 'lt_campaigns',
      values: [{ id: campaign.id, version: campaign.version, body: JSON.stringify(campaign), updated_at: campaign.updatedAt }],
      format: 'JSONEachRow',
    });
    const [, [, version]] = (await this.redis.multi().hset(this.keys.catalogue, campaign.id, JSON.stringify(campaign)).incr(this.keys.version).publish(this.keys.changes, campaign.id).exec()) as [unknown, [null, number]];
    return version;
  }

  /** Restores Redis's working copy from ClickHouse (after Redis lost its data). */
  async restoreFromHistory(): Promise<number> {
    const rs = await this.clickhouse.query({ query: 'SELECT argMax(body, version) AS body FROM lt_campaigns GROUP BY id', format: 'JSONEachRow' });
    const rows = await rs.json<{ body: string }>();
    if (rows.length === 0) return 0;
    const multi = this.redis.multi();
    for (const { body } of rows) multi.hset(this.keys.catalogue, (JSON.parse(body) as Campaign).id, body);
    await multi.incr(this.keys.version).exec();
    return rows.length;
  }
}
