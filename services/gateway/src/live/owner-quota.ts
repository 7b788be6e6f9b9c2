/** 'full': the owner is at its cap; 'unavailable': its subscriptions could not be counted. */
export type QuotaVerdict = 'ok' | 'full' | 'unavailable';

/**
 * Counts each owner's (token subject's) live subscriptions against one cap
 * (WS_MAX_SUBSCRIPTIONS_PER_TOKEN). The gateway counts over every gateway through Redis
 * (RedisOwnerQuota); LocalOwnerQuota counts in this process only.
 */
export interface OwnerQuota {
  readonly max: number;
  /** Takes one more subscription for `owner`, unless that would pass the cap. */
  take(owner: string): Promise<QuotaVerdict>;
  /** Gives back one subscription taken earlier. */
  give(owner: string): void;
}

/** Counts in this process's memory: unit tests, and a gateway that is the only one. */
export class LocalOwnerQuota implements OwnerQuota {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  take(owner: string): Promise<QuotaVerdict> {
    const count = this.counts.get(owner) ?? 0;
    if (count >= this.max) return Promise.resolve('full');
    this.counts.set(owner, count + 1);
    return Promise.resolve('ok');
  }

  give(owner: string): void {
    const left = (this.counts.get(owner) ?? 1) - 1;
    if (left > 0) this.counts.set(owner, left);
    else this.counts.delete(owner);
  }

  countOf(owner: string): number {
    return this.counts.get(owner) ?? 0;
  }
}
