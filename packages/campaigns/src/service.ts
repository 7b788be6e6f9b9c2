import type { Campaign } from './campaign';
import type { CampaignStore } from './store';
import { validateCampaignInput } from './validate';

export class CampaignError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'CONFLICT' | 'INVALID_CAMPAIGN',
    message: string,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'CampaignError';
  }
}

/**
 * Recomputes a campaign's live state from history; wired by the service that owns it.
 * Resolves once the campaign's figures are exact for its current definition; stops at
 * the next step once `signal` aborts (the campaign then stays pending for another run).
 */
export type Backfill = (campaign: Campaign, options?: { signal?: AbortSignal }) => Promise<void>;

export interface CampaignServiceDeps {
  store: Pick<CampaignStore, 'list' | 'get' | 'save' | 'pendingBackfills'>;
  backfill: Backfill;
  now(): number;
  /** Reports a background backfill failure (the campaign stays pending: resumePending() runs it again). */
  onBackfillError(campaign: Campaign, err: Error): void;
}

const MINUTE = 60_000;

/**
 * Create, replace and end campaigns. A change of the events a campaign covers (its
 * window or filters; the store decides, atomically with the write) starts a backfill;
 * a change of name, targets or time zone does not. The backfill itself makes the live
 * state exact; a campaign whose backfill did not finish stays pending in the store, and
 * resumePending() (called periodically) runs it again, in whichever process.
 */
export class CampaignService {
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly deps: CampaignServiceDeps) {}

  list(): Promise<Campaign[]> {
    return this.deps.store.list();
  }

  async get(id: string): Promise<Campaign> {
    const c = await this.deps.store.get(id);
    if (!c) throw new CampaignError('NOT_FOUND', `campaign ${id} does not exist`);
    return c;
  }

  async create(input: unknown): Promise<Campaign> {
    const v = validateCampaignInput(input);
    if (!v.ok) throw new CampaignError('INVALID_CAMPAIGN', 'campaign is invalid', v.errors);
    if (await this.deps.store.get(v.value.id))
      throw new CampaignError('CONFLICT', `campaign ${v.value.id} already exists`);
    const now = this.deps.now();
    const campaign: Campaign = { ...v.value, status: 'active', createdAt: now, updatedAt: now, version: 1 };
    await this.saveAndBackfill(campaign);
    return campaign;
  }

  async replace(id: string, input: unknown): Promise<Campaign> {
    const current = await this.get(id);
    const v = validateCampaignInput({ ...(input as object), id });
    if (!v.ok) throw new CampaignError('INVALID_CAMPAIGN', 'campaign is invalid', v.errors);
    const campaign: Campaign = { ...current, ...v.value, updatedAt: this.deps.now(), version: current.version + 1 };
    await this.saveAndBackfill(campaign);
    return campaign;
  }

  /** Ends a campaign now: its window closes at the next whole minute. */
  async end(id: string): Promise<Campaign> {
    const current = await this.get(id);
    const now = this.deps.now();
    const endsAt = Math.max(current.startsAt + MINUTE, Math.min(current.endsAt, Math.ceil(now / MINUTE) * MINUTE));
    const campaign: Campaign = { ...current, status: 'ended', endsAt, updatedAt: now, version: current.version + 1 };
    await this.saveAndBackfill(campaign);
    return campaign;
  }

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
   * Starts the backfill of every campaign the store still lists as pending and this
   * process is not already running (one that failed, or whose process died mid-way).
   * Returns how many it started.
   */
  async resumePending(): Promise<number> {
    if (this.stopping.signal.aborted) return 0;
    let started = 0;
    for (const id of await this.deps.store.pendingBackfills()) {
      if (this.running.has(id)) continue;
      const campaign = await this.deps.store.get(id);
      if (!campaign) continue;
      this.startBackfill(campaign);
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
    this.stopping.abort(new Error('campaign service closing'));
    await this.idle();
  }

  private async saveAndBackfill(campaign: Campaign): Promise<void> {
    const { backfill } = await this.deps.store.save(campaign);
    if (backfill) this.startBackfill(campaign);
  }

  private startBackfill(campaign: Campaign): void {
    void this.backfill(campaign).catch(() => undefined);
  }
}
