import { CampaignMatcher, type Campaign } from '@livetally/campaigns';

export interface CatalogueSource {
  snapshot(): Promise<{ version: number; campaigns: Campaign[] }>;
}

/**
 * The campaigns a worker matches events against, with the catalogue version they
 * came from. The apply script refuses a batch planned with an older version (a
 * backfill cut may have been taken since), and the worker re-plans with a fresh copy.
 */
export class CampaignCatalogue {
  private current: { version: number; matcher: CampaignMatcher } | undefined;

  constructor(private readonly source: CatalogueSource) {}

  async get(): Promise<{ version: number; matcher: CampaignMatcher }> {
    this.current ??= await this.load();
    return this.current;
  }

  /** Drops the cached copy; the next get() reads the catalogue again. */
  invalidate(): void {
    this.current = undefined;
  }

  private async load(): Promise<{ version: number; matcher: CampaignMatcher }> {
    const { version, campaigns } = await this.source.snapshot();
    return { version, matcher: new CampaignMatcher(campaigns) };
  }
}
