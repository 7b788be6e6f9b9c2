import { describe, expect, it } from 'vitest';
import { CampaignBackfills } from './backfills';
import type { Campaign } from './campaign';

const campaign = (id: string) => ({ id, version: 1 }) as Campaign;

describe('CampaignBackfills', () => {
  it('resumes the backfills the store still lists as pending, once each', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const backfills = new CampaignBackfills({
      store: {
        get: async (id) => (id === 'ecm-2024' ? campaign(id) : null),
        pendingBackfills: async () => ['ecm-2024', 'gone'],
      },
      backfill: async (c) => (started.push(c.id), gate),
      onBackfillError: () => undefined,
    });
    expect(await backfills.resumePending()).toBe(1); // 'gone' has no definition
    expect(await backfills.resumePending()).toBe(0); // already running here
    release();
    await backfills.idle();
    expect(started).toEqual(['ecm-2024']);
  });

  it('reports a failed backfill, and none that close() stopped', async () => {
    const errors: string[] = [];
    const backfills = new CampaignBackfills({
      store: { get: async (id) => campaign(id), pendingBackfills: async () => ['slow'] },
      backfill: (c, options) =>
        c.id === 'broken'
          ? Promise.reject(new Error('ClickHouse down'))
          : new Promise((_, reject) => {
              const signal = options!.signal!;
              if (signal.aborted) reject(new Error('stopped'));
              signal.addEventListener('abort', () => reject(new Error('stopped')));
            }),
      onBackfillError: (c, err) => errors.push(`${c.id}: ${err.message}`),
    });
    await expect(backfills.backfill(campaign('broken'))).rejects.toThrow('ClickHouse down');
    expect(await backfills.resumePending()).toBe(1);
    await backfills.close();
    expect(errors).toEqual(['broken: ClickHouse down']);
    expect(await backfills.resumePending()).toBe(0); // closed: starts nothing
  });
});
