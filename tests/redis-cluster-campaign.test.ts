import { afterEach, describe, expect, it } from 'vitest';
import { campaignKeys, matchesCampaign, type Campaign, type CampaignFilters } from '@livetally/campaigns';
import type { Totals } from '@livetally/live-state';
import { expectedTotals } from '../services/simulator/src/dataset';
import { sameTotals, startFaultRun } from './support/fault-run';
import { startClusterGateway } from './support/cluster-gateway';
import { startRedisCluster } from './support/redis-cluster';
import { waitFor } from './support/stack';

/**
 * A campaign backfill on a Redis Cluster (ADR 0003, "Campaign backfill per partition"): two
 * real ingest workers and a real gateway on a throwaway cluster of three masters and three
 * replicas (REDIS_CLUSTER_NODES), with the shared Kafka and ClickHouse. The campaign is created
 * through the gateway while the workers ingest, its filters are changed once while its first
 * backfill is staging, and its totals read through the gateway must end equal to the totals of
 * the events its final definition matches: the cut, stage, swap and retire scripts each run on
 * one slot (the campaign slot, or a partition's), and the readers sum the live generation's
 * shares over partitions on different masters.
 */
let cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

const MINUTE = 60_000;

describe('campaigns on a Redis Cluster', () => {
  it(
    'a campaign created while two workers ingest and changed during its backfill ends with exact totals through the gateway',
    { timeout: 180_000 },
    async () => {
      const started = Date.now();
      const note = (what: string) =>
        process.stdout.write(`[cluster campaign] +${((Date.now() - started) / 1000).toFixed(1)} s ${what}\n`);
      const cluster = await startRedisCluster();
      cleanups.push(() => cluster.remove());
      const run = await startFaultRun('clcamp', {
        count: 40_000,
        partitions: 6,
        stores: { redisCluster: cluster },
        workerEnv: { INGEST_FLUSH_MS: '200' },
      });
      cleanups.push(() => run.close());
      const keys = campaignKeys(run.run);
      const gateway = await startClusterGateway(cluster, run, (c) => cleanups.push(c));
      run.startWorker();
      run.startWorker();
      const workersOutput = () => run.workers.map((w) => w.output()).join('\n');

      // History first (the backfill's), then live traffic while the campaign is created and changed.
      const history = Math.floor(run.data.length * 0.6);
      await run.produce(0, history);
      await run.waitForRedis(history, 90_000);
      note(`${history} messages of history applied`);

      const now = Date.now();
      const input = {
        id: 'clx',
        name: 'Cluster campaign',
        startsAt: Math.floor((now - 4 * 60 * MINUTE) / MINUTE) * MINUTE,
        endsAt: Math.ceil((now + 60 * MINUTE) / MINUTE) * MINUTE,
        filters: { districts: ['Futian', 'Luohu'] } as CampaignFilters,
        targets: { gmvFen: 100_000_000 },
      };
      const send = async (method: 'POST' | 'PUT', body: typeof input) => {
        const res = await fetch(`${gateway.url}/v1/campaigns${method === 'PUT' ? `/${body.id}` : ''}`, {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        expect(res.status, text).toBe(method === 'POST' ? 201 : 200);
        return JSON.parse(text) as Campaign;
      };

      const producing = run.produce(history, run.data.length);
      await send('POST', input);
      note('campaign created');
      // Changed once while its first backfill stages (a generation registered, not yet swapped in).
      await waitFor(
        'the first backfill staging',
        async () => (await run.redis.hexists(keys.staging, input.id)) === 1,
        60_000,
        2,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${workersOutput().slice(-4000)}`);
      });
      const changed = await send('PUT', { ...input, filters: { categories: ['jewellery', 'beauty'] } });
      expect(changed.version).toBe(2);
      expect(await run.redis.hexists(keys.pending, input.id)).toBe(1); // the new definition's backfill is due
      note('campaign changed during its backfill');
      await producing;

      await waitFor(
        'no campaign backfill pending',
        async () => (await run.redis.hlen(keys.pending)) === 0 && (await run.redis.hlen(keys.staging)) === 0,
        90_000,
        200,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${workersOutput().slice(-4000)}`);
      });
      note('backfills swapped in');
      await run.expectExact();
      note('Redis, ClickHouse and the ledger exact');

      const events = run.data.flatMap((m) => (m.event && m.kind === 'valid' ? [m.event] : []));
      const matching = events.filter((e) => matchesCampaign(changed, e));
      const want = expectedTotals(matching).get('all')!;
      expect(matching.length).toBeGreaterThan(1_000);
      // Through the gateway (the live generation's shares summed over partitions), retried on NOT_READY.
      const scope = `campaign:${input.id}`;
      const got = await waitFor(
        `GET /v1/totals/${scope}`,
        async () => {
          const res = await fetch(`${gateway.url}/v1/totals/${encodeURIComponent(scope)}`);
          if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
          return ((await res.json()) as { totals: Totals }).totals;
        },
        10_000,
        100,
      );
      expect(sameTotals(got, want), JSON.stringify({ got, want })).toBe(true);
      expect(sameTotals((await run.store.readTotals([scope])).get(scope), want)).toBe(true);
      const output = workersOutput();
      expect(output).not.toMatch(/CROSSSLOT/);
      const swaps = (output.match(/swapped in/g) ?? []).length;
      process.stdout.write(
        `[cluster campaign] ${JSON.stringify({ matching: matching.length, views: want.views, swapsLogged: swaps, totalMs: Date.now() - started })}\n`,
      );
    },
  );
});
