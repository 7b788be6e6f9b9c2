import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { CampaignCatalogueRedis, DEFAULT_KEY_PREFIX, type CampaignKeys } from '@livetally/live-state';
import { coverageOf, stagingScope, type Campaign, type CatalogueCampaign } from './campaign';

/** What a save did: the new catalogue version, and whether the campaign's figures must be rebuilt from history. */
export interface SaveOutcome {
  catalogueVersion: number;
  backfill: boolean;
}

/**
 * Campaign definitions: ClickHouse (lt_campaigns, ReplacingMergeTree by version) is
 * the durable record; Redis holds the working copy every worker and gateway reads, with
 * the backfill bookkeeping beside it (its keys and scripts: CampaignCatalogueRedis in
 * @livetally/live-state).
 */
export class CampaignStore {
  readonly keys: CampaignKeys;
  private readonly catalogue: CampaignCatalogueRedis;

  constructor(
    redis: Redis,
    private readonly clickhouse: ClickHouseClient,
    prefix = DEFAULT_KEY_PREFIX,
  ) {
    this.catalogue = new CampaignCatalogueRedis(redis, prefix);
    this.keys = this.catalogue.keys;
  }

  async list(): Promise<Campaign[]> {
    const all = await this.catalogue.bodies();
    return all
      .map((json) => JSON.parse(json) as Campaign)
      .sort((a, b) => a.startsAt - b.startsAt || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<Campaign | null> {
    const json = await this.catalogue.body(id);
    return json ? (JSON.parse(json) as Campaign) : null;
  }

  /**
   * The catalogue version and its campaigns, read together, each with its staging scope
   * while a backfill builds its figures aside (workers count matching events there too).
   */
  async snapshot(): Promise<{ version: number; campaigns: CatalogueCampaign[] }> {
    const { version, bodies, staging, live } = await this.catalogue.snapshot();
    const campaigns = bodies.map((json) => {
      const c = JSON.parse(json) as CatalogueCampaign;
      if (live[c.id] !== undefined) c.liveScope = `campaign:${c.id}@${live[c.id]}`;
      if (staging[c.id] !== undefined) c.stagingScope = stagingScope(c.id, staging[c.id]!);
      return c;
    });
    return { version, campaigns };
  }

  /** Ids of campaigns whose figures still have to be rebuilt from history (a backfill did not finish). */
  async pendingBackfills(): Promise<string[]> {
    return this.catalogue.pendingIds();
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
    const { catalogueVersion, coverageChanged } = await this.catalogue.save({
      id: campaign.id,
      body: JSON.stringify(campaign),
      version: campaign.version,
      coverage: coverageOf(campaign),
    });
    return { catalogueVersion, backfill: coverageChanged };
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
    await this.catalogue.restore(
      rows.map(({ body }) => {
        const campaign = JSON.parse(body) as Campaign;
        return { id: campaign.id, body, coverage: coverageOf(campaign) };
      }),
    );
    return rows.length;
  }
}
