import type { Campaign } from './campaign';
import type { Backfill } from './service';
import type { CampaignStore } from './store';

export interface CampaignBackfillsDeps {
  store: Pick<CampaignStore, 'get' | 'pendingBackfills'>;
  backfill: Backfill;
  /** Reports a failed backfill (the campaign stays pending: the next resumePending() runs it again). */
  onBackfillError(campaign: Campaign, err: Error): void;
}

/**
 * Runs the backfills the store lists as pending, on the ingest side. A campaign stays
 * pending until its backfill swapped the figures in, so whatever a failed run or a
 * process that died mid-way left is picked up by the next resumePending(), in
 * whichever process (the backfill's lease lets one run at a time).
 */
export class CampaignBackfills {
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly deps: CampaignBackfillsDeps) {}

  /** Starts (or restarts) the backfill of a campaign and returns when it finished. */
  backfill(campaign: Campaign): Promise<void> {
    const previous = this.running.get(campaign.id) ?? Promise.resolve();
    // Backfills of one campaign run one after another; the newest definition runs last.
    const next = previous
      .catch(() => undefined)
      .then(() => this.deps.backfill(campaign, { signal: this.stopping.signal }));
    this.running.set(campaign.id, next);
    next.then(
      () => this.running.get(campaign.id) === next && this.running.delete(campaign.id),
      (err: Error) => {
        if (this.running.get(campaign.id) === next) this.running.delete(campaign.id);
        // Stopped at shutdown on purpose: it stays pending for another process, nothing to report.
        if (!this.stopping.signal.aborted) this.deps.onBackfillError(campaign, err);
      },
    );
    return next;
  }

  /**
   * Starts the backfill of every campaign the store lists as pending and this process
   * is not already running. Returns how many it started.
   */
  async resumePending(): Promise<number> {
    if (this.stopping.signal.aborted) return 0;
    let started = 0;
    for (const id of await this.deps.store.pendingBackfills()) {
      if (this.running.has(id)) continue;
      const campaign = await this.deps.store.get(id);
      if (!campaign) continue;
      void this.backfill(campaign).catch(() => undefined);
      started++;
    }
    return started;
  }

  /** Resolves when no backfill is running (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Stops running backfills at their next step (they stay pending for another process) and waits for them. */
  async close(): Promise<void> {
    this.stopping.abort(new Error('campaign backfills closing'));
    await this.idle();
  }
}
