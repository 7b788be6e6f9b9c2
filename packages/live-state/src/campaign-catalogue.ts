import type { Redis } from 'ioredis';
import type { CampaignStagingKeys } from './campaign-staging';
import { campaignLivePointerKey } from './campaign-scopes';
import { raiseCatalogueCopies } from './catalogue-copies';
import { DEFAULT_KEY_PREFIX } from './keys';

/**
 * Where the campaign catalogue lives in Redis: the working copy every worker and gateway
 * reads, a catalogue version that changes with every write (so a worker can tell its
 * copy is stale), and beside it the backfill bookkeeping (see CampaignStaging): which
 * campaigns still need their figures rebuilt from history (`pending`), which backfill
 * generation is building them aside (`staging`), and what each definition covers
 * (`coverage`), so a save decides atomically whether it needs a backfill.
 */
export interface CampaignKeys extends CampaignStagingKeys {
  /** Hash id → the coverage of the definition in the catalogue. */
  coverage: string;
  /** Hash id → the backfill generation whose figures are live (campaign-scopes.ts). */
  live: string;
}

/**
 * Every catalogue key carries the hash tag `{campaigns}` (ADR 0003), so on a Redis Cluster
 * they share one slot: the save script and the catalogue snapshot (a MULTI over the
 * version, the definitions and the staging registry) each touch one slot.
 */
export function campaignKeys(prefix = DEFAULT_KEY_PREFIX): CampaignKeys {
  const head = `${prefix}:{campaigns}`;
  return {
    catalogue: head,
    version: `${head}:version`,
    changes: `${head}:changed`,
    pending: `${head}:pending`,
    staging: `${head}:staging`,
    coverage: `${head}:coverage`,
    lease: (id) => `${head}:lease:${id}`,
    live: campaignLivePointerKey(prefix),
  };
}

/** A definition as the catalogue stores it: its JSON body, its version and what events it covers. */
export interface CatalogueEntry {
  id: string;
  /** The definition (JSON). */
  body: string;
  version: number;
  /** Changes exactly when the events the definition covers change (window, filters). */
  coverage: string;
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

/** The Redis side of the campaign catalogue: definitions, catalogue version, pending backfills. */
export class CampaignCatalogueRedis {
  readonly keys: CampaignKeys;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = DEFAULT_KEY_PREFIX,
  ) {
    this.keys = campaignKeys(prefix);
    redis.defineCommand('ltSaveCampaign', { lua: SAVE, numberOfKeys: 5 });
  }

  /** Every definition (JSON). */
  bodies(): Promise<string[]> {
    return this.redis.hvals(this.keys.catalogue);
  }

  body(id: string): Promise<string | null> {
    return this.redis.hget(this.keys.catalogue, id);
  }

  /**
   * The catalogue version, its definitions, the backfill generations registered and the
   * live generations, read together (one slot).
   */
  async snapshot(): Promise<{
    version: number;
    bodies: string[];
    staging: Record<string, string>;
    live: Record<string, string>;
  }> {
    const replies = (await this.redis
      .multi()
      .get(this.keys.version)
      .hvals(this.keys.catalogue)
      .hgetall(this.keys.staging)
      .hgetall(this.keys.live)
      .exec()) as [
      [null, string | null],
      [null, string[]],
      [null, Record<string, string>],
      [null, Record<string, string>],
    ];
    const [[, version], [, bodies], [, staging], [, live]] = replies;
    return { version: Number(version ?? 0), bodies, staging, live };
  }

  /** Ids of campaigns whose figures still have to be rebuilt from history. */
  pendingIds(): Promise<string[]> {
    return this.redis.hkeys(this.keys.pending);
  }

  /**
   * Replaces a definition under a new catalogue version; marks the campaign pending when
   * it covers other events than before (`coverageChanged`).
   */
  async save(entry: CatalogueEntry): Promise<{ catalogueVersion: number; coverageChanged: boolean }> {
    const k = this.keys;
    const [version, covers] = await (
      this.redis as unknown as Record<string, (...a: string[]) => Promise<[number, number]>>
    ).ltSaveCampaign!(
      k.catalogue,
      k.version,
      k.pending,
      k.staging,
      k.coverage,
      entry.id,
      entry.body,
      String(entry.version),
      entry.coverage,
      k.changes,
    );
    await raiseCatalogueCopies(this.redis, version, this.prefix);
    return { catalogueVersion: version, coverageChanged: covers === 1 };
  }

  /**
   * Writes the given definitions back (after Redis lost its data) under a new catalogue
   * version; running backfills are unregistered (a rebuild recomputes every campaign).
   */
  async restore(entries: readonly Omit<CatalogueEntry, 'version'>[]): Promise<void> {
    // The live pointer goes too: the rebuild that follows a restore writes every campaign's
    // figures under `campaign:<id>`.
    const multi = this.redis.multi().del(this.keys.staging, this.keys.live);
    for (const e of entries) multi.hset(this.keys.catalogue, e.id, e.body).hset(this.keys.coverage, e.id, e.coverage);
    const replies = await multi.incr(this.keys.version).exec();
    const [err, version] = replies?.at(-1) ?? [new Error('catalogue restore transaction was aborted'), null];
    if (err) throw err;
    await raiseCatalogueCopies(this.redis, version as number, this.prefix);
  }
}
