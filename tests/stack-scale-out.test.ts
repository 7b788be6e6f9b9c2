import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFaultRun, type FaultRun } from './support/fault-run';
import { partitionReplicas } from './support/kafka';
import { parseEnvFile } from './support/stack-plan';
import { freePortBlock, waitFor } from './support/stack';

/**
 * Issue 12: the local stack brings up the scale-out layout itself — `LT_REDIS=cluster
 * LT_KAFKA_BROKERS=3 bash infra/stack.sh up` (three masters and three replicas, three KRaft
 * brokers with replication factor 3 and min.insync.replicas=2) — in a data folder and on ports
 * of its own, and the pipeline counts a data set exactly through it: two real worker processes
 * (one SIGKILLed half-way) with the stack.env it wrote, Redis summed over the partitions'
 * shares, ClickHouse and the ledger of offsets exact. The failover and broker-kill cases run on
 * the same layouts in tests/redis-cluster-pipeline.test.ts and tests/chaos-broker-kill.test.ts.
 */
const dir = mkdtempSync(join(tmpdir(), 'lt-stack-scale-out-'));
let stackEnv: Record<string, string> | undefined;
let run: FaultRun | undefined;

afterAll(async () => {
  await run?.close().catch(() => undefined);
  if (stackEnv) await stack('down', stackEnv).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

/** Runs infra/stack.sh with the layout's variables; the caller's own stack's URLs are left out (set, they would be used, not started). */
async function stack(command: 'up' | 'down', layout: Record<string, string>): Promise<string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(KAFKA_BROKERS|REDIS_URL|REDIS_CLUSTER_NODES|CLICKHOUSE_|LT_)/.test(k)) env[k] = v;
  const child = spawn('bash', ['infra/stack.sh', command], {
    env: { ...env, ...layout },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const code = await new Promise<number | null>((res) => child.once('exit', res));
  if (code !== 0) throw new Error(`infra/stack.sh ${command} exited ${code}:\n${output.slice(-4000)}`);
  return output;
}

describe('the local stack in its scale-out layout', () => {
  it(
    'brings up a Redis Cluster and three replicated brokers, and the pipeline counts exactly through them',
    { timeout: 420_000 },
    async () => {
      const layout = {
        LT_DATA_DIR: dir,
        LT_REDIS: 'cluster',
        LT_KAFKA_BROKERS: '3',
        // Brokers and controllers on base+0…5; Redis nodes on base+0…5 and their cluster bus +10000.
        LT_KAFKA_PORT: String(await freePortBlock([0, 1, 2, 3, 4, 5])),
        LT_REDIS_PORT: String(await freePortBlock([0, 1, 2, 3, 4, 5, 10_000, 10_001, 10_002, 10_003, 10_004, 10_005])),
        LT_CLICKHOUSE_PORT: String(await freePortBlock([0])),
      };
      stackEnv = layout;
      const started = Date.now();
      await stack('up', layout);
      const env = parseEnvFile(readFileSync(join(dir, 'stack.env'), 'utf8'));
      const upMs = Date.now() - started;
      expect(env.KAFKA_BROKERS!.split(',')).toHaveLength(3);
      expect(env.REDIS_CLUSTER_NODES!.split(',')).toHaveLength(6);

      run = await startFaultRun('stack_scale_out', {
        count: 24_000,
        partitions: 6,
        stores: {
          kafka: { url: env.KAFKA_BROKERS! },
          redisCluster: { nodesList: env.REDIS_CLUSTER_NODES! },
          chdb: {
            url: env.CLICKHOUSE_URL!,
            credentials: { username: env.CLICKHOUSE_USER!, password: env.CLICKHOUSE_PASSWORD! },
          },
        },
        workerEnv: { INGEST_FLUSH_MS: '200' },
      });
      for (const topic of ['livetally.events', run.topic]) {
        const replicas = await partitionReplicas(run.kafka, topic);
        expect(
          [...replicas.values()].every((p) => p.isr.length === 3),
          `${topic}: three in-sync copies`,
        ).toBe(true);
      }
      const doomed = run.startWorker();
      run.startWorker();
      const half = run.data.length / 2;
      await run.produce(0, half);
      const counting = run;
      await waitFor(
        'the first events counted',
        async () => ((await counting.store.readTotals(['all'])).get('all')?.views ?? 0) > 0,
        120_000,
        250,
      );
      doomed.child.kill('SIGKILL');
      await run.produce(half, run.data.length);
      await run.expectExact({ timeoutMs: 120_000 });
      process.stdout.write(
        `[stack scale-out] up in ${upMs} ms (3 brokers, 6 Redis nodes, chDB); ${run.data.length} messages exact in ${Date.now() - started} ms\n`,
      );
    },
  );
});
