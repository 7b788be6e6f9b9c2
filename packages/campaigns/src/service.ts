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
 * Recomputes a campaign's live state from history; run by the ingest side (CampaignBackfills).
 * Resolves once the campaign's figures are exact for its current definition; stops at
 * the next step once `signal` aborts (the campaign then stays pending for another run).
 */
export type Backfill = (campaign: Campaign, options?: { signal?: AbortSignal }) => Promise<void>;

export interface CampaignServiceDeps {
  store: Pick<CampaignStore, 'list' | 'get' | 'save' | 'pendingBackfills'>;
  now(): number;
}

const MINUTE = 60_000;
const PENDING_POLL_MS = 100;
/** Longest idle() waits for the ingest side (a backfill of a large campaign on a busy ClickHouse). */
const IDLE_DEADLINE_MS = 15 * 60_000;

/**
 * Create, replace and end campaigns. A change of the events a campaign covers (its
 * window or filters; the store decides, atomically with the write) marks the campaign
 * pending in the store; a change of name, targets or time zone does not. This service
 * only records the change: the ingest side picks pending campaigns up and runs their
 * backfills (CampaignBackfills), so that the process that records a change needs no
 * ingest configuration.
 */
export class CampaignService {
  /** Campaigns whose changes through this service marked them pending. */
  private readonly changed = new Set<string>();
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
    await this.save(campaign);
    return campaign;
  }

  async replace(id: string, input: unknown): Promise<Campaign> {
    const current = await this.get(id);
    const v = validateCampaignInput({ ...(input as object), id });
    if (!v.ok) throw new CampaignError('INVALID_CAMPAIGN', 'campaign is invalid', v.errors);
    const campaign: Campaign = { ...current, ...v.value, updatedAt: this.deps.now(), version: current.version + 1 };
    await this.save(campaign);
    return campaign;
  }

  /** Ends a campaign now: its window closes at the next whole minute. */
  async end(id: string): Promise<Campaign> {
    const current = await this.get(id);
    const now = this.deps.now();
    const endsAt = Math.max(current.startsAt + MINUTE, Math.min(current.endsAt, Math.ceil(now / MINUTE) * MINUTE));
    const campaign: Campaign = { ...current, status: 'ended', endsAt, updatedAt: now, version: current.version + 1 };
    await this.save(campaign);
    return campaign;
  }

  /**
   * Resolves once no campaign changed through this service is pending any more: the
   * ingest side swapped its figures in (tests, and tools that wait for exact figures).
   * Rejects after IDLE_DEADLINE_MS, or when the service closes.
   */
  async idle(): Promise<void> {
    const deadline = Date.now() + IDLE_DEADLINE_MS;
    while (this.changed.size > 0) {
      this.stopping.signal.throwIfAborted();
      const pending = new Set(await this.deps.store.pendingBackfills());
      for (const id of this.changed) if (!pending.has(id)) this.changed.delete(id);
      if (this.changed.size === 0) return;
      if (Date.now() > deadline)
        throw new Error(
          `campaign backfills still pending after ${IDLE_DEADLINE_MS / 60_000} min: ${[...this.changed].join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, PENDING_POLL_MS));
    }
  }

  /** Ends any idle() wait. */
  close(): Promise<void> {
    this.stopping.abort(new Error('campaign service closing'));
    return Promise.resolve();
  }

  private async save(campaign: Campaign): Promise<void> {
    const { backfill } = await this.deps.store.save(campaign);
    if (backfill) this.changed.add(campaign.id);
  }
}
