import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../services/simulator/src/rng';
import { runCli } from './support/cli';
import { startFaultRun, type FaultRun } from './support/fault-run';
import { onNode, startRedisCluster, type DedicatedRedisCluster } from './support/redis-cluster';
import { waitFor } from './support/stack';

/**
 * The suite's chaos and recovery proofs on a Redis Cluster (issue 12, ADR 0003), as
 * tests/chaos.test.ts and tests/rebuild.test.ts give them on one Redis: real worker processes
 * with REDIS_CLUSTER_NODES on a throwaway cluster of three masters and three replicas, the
 * shared Kafka and ClickHouse (fresh topic, group, key prefix and database per test), and a data
 * set with resends and malformed events. Each ends with Redis (every scope summed over the
 * partitions' shares), ClickHouse and the ledger of offsets exact.
 */
let cluster: DedicatedRedisCluster;
const runs: FaultRun[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterEach(async () => {
  for (const run of runs.splice(0)) await run.close().catch(() => undefined);
});

afterAll(async () => {
  await cluster?.remove();
});

async function clusterRun(label: string, count: number, partitions: number): Promise<FaultRun> {
  const run = await startFaultRun(label, {
    count,
    partitions,
    stores: { redisCluster: cluster },
    workerEnv: { INGEST_FLUSH_MS: '200', INGEST_MAX_BYTES_PER_PARTITION: '65536' },
  });
  runs.push(run);
  return run;
}

describe('chaos and recovery on a Redis Cluster', () => {
  it(
    'ends exact after workers are SIGKILLed and rescaled at random moments while ingesting',
    { timeout: 240_000 },
    async () => {
      const run = await clusterRun('clchaos', 48_000, 12);
      const rng = new Rng(1203);
      run.startWorker();
      run.startWorker();
      const alive = [...run.workers];
      let produced = false;
      const producing = (async () => {
        for (let i = 0; i < run.data.length; i += 4_000) {
          await run.produce(i, Math.min(run.data.length, i + 4_000));
          await new Promise((r) => setTimeout(r, 300));
        }
        produced = true;
      })();
      const log: string[] = [];
      // Kills while the data set is still arriving, so they land mid-stream; at most 6.
      for (let k = 0; k < 6 && !produced; k++) {
        await new Promise((r) => setTimeout(r, 1_500 + Math.floor(rng.next() * 2_000)));
        const victim = alive.splice(Math.floor(rng.next() * alive.length), 1)[0]!;
        await victim.stop('SIGKILL');
        const target = 1 + Math.floor(rng.next() * 3);
        while (alive.length < target) alive.push(run.startWorker());
        log.push(`kill ${k + 1}: pid ${victim.child.pid}, now ${alive.length} workers`);
      }
      await producing;
      while (alive.length < 2) alive.push(run.startWorker());
      process.stdout.write(`[cluster chaos] ${log.join('; ')}\n`);
      expect(log.length).toBeGreaterThan(0);
      await run.expectExact({ timeoutMs: 150_000 });
      expect(run.workers.map((w) => w.output()).join('\n')).not.toMatch(/CROSSSLOT/);
    },
  );

  it(
    'restores every scope with rebuild after every master lost its keys mid-stream, and reconcile agrees',
    { timeout: 240_000 },
    async () => {
      const run = await clusterRun('clrebuild', 24_000, 6);
      run.startWorker();
      run.startWorker();
      const half = run.data.length / 2;
      await run.produce(0, half);
      await run.waitForRedis(half);

      // Every master loses everything (its replica follows): the cluster comes back empty.
      const masters = await cluster.masters();
      const wiped = await Promise.all(
        masters.map((node) =>
          onNode(node, async (c) => {
            const keys = await c.dbsize();
            await c.flushall();
            return keys;
          }),
        ),
      );
      expect(wiped.reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
      // The rest arrives after the loss: the workers refuse to count it on an empty Redis.
      await run.produce(half, run.data.length);
      await waitFor(
        'workers asking for a rebuild',
        async () => run.workers.some((w) => w.output().includes('npm run rebuild')),
        60_000,
        100,
      );

      const rebuild = await runCli('rebuild', [], { ...run.env, REBUILD_GRACE_MS: '1000' });
      expect(rebuild.code, rebuild.stdout + rebuild.stderr).toBe(0);
      expect(rebuild.stdout).toMatch(/^REBUILT: \d+ scope\(s\), 6 partition offset\(s\), .*reconcile agrees/);
      await run.expectExact();
      const reconcile = await runCli('reconcile', [], run.env);
      expect(reconcile.code, reconcile.stdout + reconcile.stderr).toBe(0);
      process.stdout.write(
        `[cluster rebuild] ${wiped.join('+')} keys wiped; rebuild CLI ${rebuild.ms} ms; reconcile CLI ${reconcile.ms} ms\n`,
      );
    },
  );
});
