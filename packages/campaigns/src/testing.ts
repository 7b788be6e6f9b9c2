import { coverageOf, type Campaign } from './campaign';
import { CampaignService } from './service';

/**
 * CampaignService over an in-memory store that decides backfills as the real one does
 * (only when the events covered change), with a settable clock and a record of the
 * changes that marked a campaign pending (`id@version`). For unit tests of the service
 * and of the gateway's campaign routes; nothing runs the backfills, so nothing stays pending.
 */
export function memoryCampaigns(now: () => number) {
  const saved = new Map<string, Campaign>();
  const backfilled: string[] = [];
  const service = new CampaignService({
    store: {
      list: async () => [...saved.values()],
      get: async (id) => saved.get(id) ?? null,
      save: async (c) => {
        const before = saved.get(c.id);
        saved.set(c.id, c);
        const backfill = !before || coverageOf(before) !== coverageOf(c);
        if (backfill) backfilled.push(`${c.id}@${c.version}`);
        return { catalogueVersion: saved.size, backfill };
      },
      pendingBackfills: async () => [],
    },
    now,
  });
  return { service, saved, backfilled };
}
