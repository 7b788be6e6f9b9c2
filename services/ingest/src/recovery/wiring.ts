import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { CampaignStore, campaignKeys } from '@livetally/campaigns';
import { LiveMeasureWriter } from '@livetally/live-state';
import { LiveHistory } from '@livetally/history';
import type { RebuildDeps } from './rebuild';
import type { ReconcileDeps } from './reconcile';

/**
 * Dimension kinds whose unique-viewer HyperLogLogs a rebuild restores by default.
 * Host and stream scopes are left out: one (scope, viewer) pair per view and scope
 * makes them as large as the views themselves (docs/operations.md, "Redis lost": the measured cost).
 */
export const DEFAULT_VIEWER_KINDS: readonly string[] = ['all', 'city', 'district', 'category', 'platform'];

/** What a rebuild needs to restore the campaign catalogue and every live measure. */
export function rebuildMeasures(
  redis: Redis,
  clickhouse: ClickHouseClient,
  options: { prefix: string; viewerKinds?: readonly string[] },
): NonNullable<RebuildDeps['measures']> {
  const campaigns = new CampaignStore(redis, clickhouse, options.prefix);
  return {
    history: new LiveHistory(clickhouse),
    writer: new LiveMeasureWriter(redis, options.prefix),
    viewerKinds: options.viewerKinds ?? DEFAULT_VIEWER_KINDS,
    catalogue: {
      restore: () => campaigns.restoreFromHistory(),
      snapshot: () => campaigns.snapshot(),
      versionKey: campaigns.keys.version,
    },
  };
}

/** What a reconcile needs to compare campaign scopes. */
export function reconcileCampaigns(
  clickhouse: ClickHouseClient,
  options: { prefix: string },
): NonNullable<ReconcileDeps['campaigns']> {
  const { catalogue, version } = campaignKeys(options.prefix);
  return { keys: { catalogue, version }, history: new LiveHistory(clickhouse) };
}
