import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { partitionTag, type Totals } from '@livetally/live-state';
import { expectedTotals } from '../services/simulator/src/dataset';
import { ownerGenerations, sameTotals, startFaultRun, type FaultRun } from './support/fault-run';
import { groupOffsetsPartition, partitionReplicas } from './support/kafka';
import { startKafkaCluster, type DedicatedKafkaCluster, type DedicatedService } from './support/dedicated';
import { startClusterGateway, type GatewayProcess } from './support/cluster-gateway';
import { onNode, startRedisCluster, type DedicatedRedisCluster } from './support/redis-cluster';
import { waitFor } from './support/stack';

/**
 * The whole pipeline on a Redis Cluster (issue 12, ADR 0003): real ingest worker processes and
 * a real gateway connect to a throwaway cluster of three masters and three replicas through
 * REDIS_CLUSTER_NODES, with the shared Kafka and ClickHouse (fresh topic, group, key prefix and
 * database per test), or, in the last test, the test's own three Kafka brokers. Every scope's
 * totals read through the gateway's REST API, which sums each scope's shares over the
 * partitions, must equal the data set's, and ClickHouse must hold every event once (the fault
 * run's ledger), also after a master is SIGKILLed with applies its replica never got (ADR 0003:
 * the owner's next apply is refused on the offset check and the partition replayed from Kafka)
 * and after a broker is SIGKILLed.
 */
let cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

async function clusterRun(label: string, count: number, workerEnv: Record<string, string> = {}) {
  const cluster = await startRedisCluster();
  cleanups.push(() => cluster.remove());
  const run = await startFaultRun(label, {
    count,
    partitions: 6,
    stores: { redisCluster: cluster },
    workerEnv: { INGEST_FLUSH_MS: '200', ...workerEnv },
  });
  cleanups.push(() => run.close());
  return { cluster, run };
}

/** Every scope's totals through GET /v1/totals/:scope, a few requests at a time. */
async function gatewayTotals(url: string, scopes: readonly string[]) {
  const out = new Map<string, Totals>();
  const queue = [...scopes];
  let notReady = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let scope = queue.shift(); scope !== undefined; scope = queue.shift()) {
        // 503 NOT_READY says "try again shortly" (e.g. a read caught by a failover): a client does.
        const totals = await waitFor(
          `GET /v1/totals/${scope}`,
          async () => {
            const res = await fetch(`${url}/v1/totals/${encodeURIComponent(scope)}`);
            if (res.ok) return ((await res.json()) as { totals: Totals }).totals;
            notReady++;
            throw new Error(`${res.status} ${await res.text()}`);
          },
          10_000,
          100,
        );
        out.set(scope, totals);
      }
    }),
  );
  return { totals: out, notReady };
}

/** The data set's expected totals per scope, and the scopes whose gateway figures differ. */
async function gatewayDifferences(gateway: GatewayProcess, run: FaultRun) {
  const expected = expectedTotals(run.data.flatMap((m) => (m.event && m.kind === 'valid' ? [m.event] : [])));
  const scopes = [...expected.keys()];
  const got = await gatewayTotals(gateway.url, scopes).catch((err: Error) => {
    throw new Error(`${err.message}\n--- gateway ---\n${gateway.process.output().slice(-6000)}`);
  });
  const differ = scopes.filter((s) => !sameTotals(got.totals.get(s), expected.get(s)!));
  return {
    scopes: scopes.length,
    notReadyAnswers: got.notReady,
    differ: differ.slice(0, 5).map((s) => ({ scope: s, got: got.totals.get(s), want: expected.get(s) })),
  };
}

/** A WebSocket client of the gateway subscribed to `totals:all`, keeping every frame with its arrival time. */
async function watchTotalsAll(gateway: GatewayProcess) {
  const frames: { type: string; channel?: string; data?: Totals; at: number }[] = [];
  const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/v1/live`);
  cleanups.push(async () => ws.close());
  ws.on('message', (raw) => frames.push({ ...(JSON.parse(String(raw)) as { type: string }), at: Date.now() }));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'subscribe', channel: 'totals:all' }));
  await waitFor('the totals:all snapshot', async () => frames.find((f) => f.type === 'snapshot'), 10_000);
  return frames;
}

type LiveFrames = Awaited<ReturnType<typeof watchTotalsAll>>;

/** The node replicating `master` now. */
async function replicaOf(cluster: DedicatedRedisCluster, master: DedicatedService): Promise<DedicatedService> {
  for (const node of cluster.nodes) {
    if (node === master || !node.running()) continue;
    const role = await onNode(node, async (c) => (await c.call('ROLE')) as [string, string, number]);
    if (role[0] === 'slave' && Number(role[2]) === master.port) return node;
  }
  throw new Error(`no replica of ${master.url}`);
}

const workersOutput = (run: FaultRun) => run.workers.map((w) => w.output()).join('\n');

/**
 * SIGKILLs the master of partition 0's slot once its partitions are being applied, so that its
 * replica is promoted lacking some of the master's last applies. Replication is asynchronous:
 * to make that certain (not only when the kill happens to win a race), the replica is stalled
 * and the master drops its link (what the kernel had buffered for it still arrives), the master
 * applies more that reaches no replica, and then it is killed and the replica continued.
 */
async function failOverLosingApplies(cluster: DedicatedRedisCluster, run: FaultRun, partitions: number) {
  const offsetsKey = (p: number) => run.store.keys.offsets(partitionTag(run.topic, p));
  const victim = await cluster.masterOf(offsetsKey(0));
  const held: number[] = [];
  for (let p = 0; p < partitions; p++) if ((await cluster.masterOf(offsetsKey(p))) === victim) held.push(p);
  // A replica answers reads of its master's slots after READONLY.
  const fieldOn = (node: DedicatedService, field: (p: number) => string) =>
    onNode(node, async (c) => {
      await c.call('READONLY');
      return Promise.all(held.map(async (p) => Number((await c.hget(offsetsKey(p), field(p))) ?? -1)));
    });
  const appliedOn = (node: DedicatedService) => fieldOn(node, String);
  const replica = await replicaOf(cluster, victim);
  // Applying now, not only before: after a broker death the group may take a while to settle,
  // and the replica must not stay stalled below longer than the cluster lets a replica fail over.
  const atEntry = await appliedOn(victim);
  await waitFor(
    "the killed master's partitions being applied",
    async () => {
      const now = await appliedOn(victim);
      return now.every((offset) => offset >= 0) && now.some((offset, i) => offset > atEntry[i]!);
    },
    90_000,
    50,
  );
  await cluster.waitUntilOk();
  replica.signal('SIGSTOP');
  let linkDropped: number[];
  let gensAtKill: number[];
  let atKill: number[];
  try {
    await onNode(victim, (c) => c.call('CLIENT', 'KILL', 'TYPE', 'replica'));
    linkDropped = await appliedOn(victim);
    gensAtKill = await fieldOn(victim, (p) => `gen:${p}`);
    atKill = await waitFor(
      'the master applying batches its replica does not get',
      async () => {
        const now = await appliedOn(victim);
        return now.some((offset, i) => offset > linkDropped[i]!) ? now : undefined;
      },
      20_000,
      20,
    );
    await victim.stop('SIGKILL');
  } finally {
    replica.signal('SIGCONT');
  }
  const killedAt = Date.now();
  // What the replica will be promoted with: once it has read the bytes buffered for it and then
  // the end of its link (link down), nothing reaches it before its promotion.
  const onReplica = await waitFor(
    'the continued replica to read what it had been sent',
    async () =>
      /^master_link_status:down\r?$/m.test(await onNode(replica, (c) => c.info('replication')))
        ? appliedOn(replica)
        : undefined,
    10_000,
    20,
  );
  const promoted = await waitFor(
    'a replica promoted for the killed master',
    async () => {
      const now = await cluster.masterOf(offsetsKey(0)).catch(() => undefined);
      return now && now !== victim ? now : undefined;
    },
    30_000,
    100,
  );
  const promotedAt = Date.now();
  const promotedAfterMs = promotedAt - killedAt;
  // The promoted replica lacks applies the workers were told succeeded.
  expect(promoted).toBe(replica);
  expect(onReplica.some((offset, i) => offset < atKill[i]!)).toBe(true);
  return {
    heldPartitions: held,
    appliedWhenReplicaLinkDropped: linkDropped,
    appliedOnMasterAtKill: atKill,
    appliedOnPromotedReplica: onReplica,
    promotedAt,
    promotedAfterMs,
    ownerGenerationsAtKill: gensAtKill,
  };
}

type Failover = Awaited<ReturnType<typeof failOverLosingApplies>>;

/**
 * After the run ended exact: each partition whose applies the promoted replica lacked was refused
 * at its owner's next apply (the offset check), taken again (a new owner generation) and replayed
 * from Kafka; no resend fingerprint was reported missing; the gateway read every scope exactly.
 */
async function expectRecovered(
  label: string,
  run: FaultRun,
  gateway: GatewayProcess,
  live: LiveFrames,
  { promotedAt, ...failover }: Failover,
  extra = {},
) {
  // The gateway's sharded subscription followed the failover: it pushes the final figures.
  const want = expectedTotals(run.data.flatMap((m) => (m.event && m.kind === 'valid' ? [m.event] : []))).get('all')!;
  const pushed = () => live.filter((f) => f.channel === 'totals:all' && f.data);
  await waitFor(
    'the final totals pushed over /v1/live',
    async () => sameTotals(pushed().at(-1)?.data, want),
    15_000,
  ).catch((err: Error) => {
    throw new Error(
      `${err.message}: last ${JSON.stringify(pushed().at(-1))}\n${gateway.process.output().slice(-4000)}`,
    );
  });
  const diff = await gatewayDifferences(gateway, run);
  const output = workersOutput(run);
  const gensAtEnd = await ownerGenerations(run);
  const report = {
    ...failover,
    ownerGenerationsAtEnd: failover.heldPartitions.map((p) => gensAtEnd.get(p)),
    // In the part of the workers' output the harness keeps (its last 400 chunks).
    retakesLogged: (output.match(/its applied offset moved; taking it again/g) ?? []).length,
    dedupStateMissing: (output.match(/DedupStateMissingError|fingerprints.*lost/gi) ?? []).length,
    gatewayScopes: diff.scopes,
    gatewayNotReadyAnswers: diff.notReadyAnswers,
    livePushesAfterPromotion: pushed().filter((f) => f.at > promotedAt).length,
    ...extra,
  };
  process.stdout.write(`[${label}] ${JSON.stringify(report)}\n`);
  failover.heldPartitions.forEach((p, i) => {
    if (failover.appliedOnPromotedReplica[i]! < failover.appliedOnMasterAtKill[i]!)
      expect(gensAtEnd.get(p)).toBeGreaterThan(failover.ownerGenerationsAtKill[i]!);
  });
  expect(report.dedupStateMissing).toBe(0);
  expect(diff.differ, `${diff.scopes} scopes read through the gateway`).toEqual([]);
  expect(output).not.toMatch(/CROSSSLOT/);
}

describe('the pipeline on a Redis Cluster', () => {
  it(
    'counts a seeded data set exactly through two workers: every scope through the gateway, every event once in ClickHouse',
    { timeout: 120_000 },
    async () => {
      const started = Date.now();
      const { cluster, run } = await clusterRun('clx', 30_000);
      run.startWorker();
      run.startWorker();
      const gateway = await startClusterGateway(cluster, run, (c) => cleanups.push(c));
      await run.produce(0, run.data.length);
      await run.expectExact();
      const diff = await gatewayDifferences(gateway, run);
      expect(diff.differ, `${diff.scopes} scopes read through the gateway`).toEqual([]);
      expect(workersOutput(run)).not.toMatch(/CROSSSLOT/);
      process.stdout.write(`[cluster exactness] ${diff.scopes} scopes exact in ${Date.now() - started} ms\n`);
    },
  );

  it(
    'ends exact after a master holding some partitions is SIGKILLed mid-stream and its replica takes over',
    { timeout: 120_000 },
    async () => {
      const started = Date.now();
      const { cluster, run } = await clusterRun('clf', 40_000, {
        // Small batches: many applies, so the kill lands between some of them.
        INGEST_MAX_BYTES_PER_PARTITION: '32768',
      });
      const gateway = await startClusterGateway(cluster, run, (c) => cleanups.push(c));
      const live = await watchTotalsAll(gateway);
      run.startWorker();
      run.startWorker();
      // Half the data set, then the other half while the master fails over.
      const half = run.data.length / 2;
      await run.produce(0, half);
      const producing = run.produce(half, run.data.length);
      const failover = await failOverLosingApplies(cluster, run, 6);
      await producing;
      await run.expectExact();
      await expectRecovered('cluster failover', run, gateway, live, failover, { totalMs: Date.now() - started });
    },
  );

  it(
    'ends exact on three Kafka brokers with one SIGKILLed and a Redis master failed over while ingesting',
    { timeout: 420_000 },
    async () => {
      const started = Date.now();
      const note = (what: string) =>
        process.stdout.write(`[cluster + brokers] +${((Date.now() - started) / 1000).toFixed(1)} s ${what}\n`);
      // Each removed even when the other failed to start.
      const stores = await Promise.allSettled([startKafkaCluster(3), startRedisCluster()]);
      for (const s of stores) if (s.status === 'fulfilled') cleanups.push(() => s.value.remove());
      const [brokers, cluster] = stores.map((s) => {
        if (s.status === 'rejected') throw s.reason;
        return s.value;
      }) as [DedicatedKafkaCluster, DedicatedRedisCluster];
      note(`three brokers (${brokers.url}) and a Redis Cluster up`);
      const run = await startFaultRun('clk', {
        count: 36_000,
        partitions: 6,
        stores: { kafka: brokers, redisCluster: cluster },
        workerEnv: { INGEST_FLUSH_MS: '200', INGEST_MAX_BYTES_PER_PARTITION: '32768' },
      });
      cleanups.push(() => run.close());
      const gateway = await startClusterGateway(cluster, run, (c) => cleanups.push(c));
      const live = await watchTotalsAll(gateway);
      run.startWorker();
      run.startWorker();
      const third = run.data.length / 3;
      await run.produce(0, third);
      // The group settled and counting before any broker dies: the first third applied.
      await run.waitForRedis(third, 120_000);
      note('the first third applied');
      // The broker dies before the rest is produced. Nothing is produced across the kill:
      // kafkajs' own send can report messages acknowledged that a dying leader never stored
      // (tests/kafka-broker-death.test.ts); the SDK guards that, and
      // tests/chaos-broker-kill.test.ts covers it.
      // Preferably a broker whose loss leaves two in-sync copies (what acks=all needs) of every
      // partition and of the group's offsets partition; the in-sync sets that metadata reports
      // can lag or flap for minutes on a busy machine, so after 30 s the leader of partition 0.
      const offsetsPartition = await groupOffsetsPartition(run.kafka, run.run);
      const survivablePick = async () => {
        const now = await partitionReplicas(run.kafka, run.topic);
        const offsets = (await partitionReplicas(run.kafka, '__consumer_offsets')).get(offsetsPartition)!;
        const survivable = (node: number) =>
          [...now.values(), offsets].every((p) => p.leader >= 0 && p.isr.filter((b) => b !== node).length >= 2);
        const pick = [...now.values()].map((p) => p.leader).find((node) => node >= 0 && survivable(node));
        return pick === undefined ? undefined : { leaders: now, victim: pick, survivable: true };
      };
      const { leaders, victim, survivable } = await waitFor(
        'a broker leading partitions whose loss leaves two in-sync copies of each',
        survivablePick,
        30_000,
        250,
      ).catch(async () => {
        const now = await partitionReplicas(run.kafka, run.topic);
        return { leaders: now, victim: now.get(0)!.leader, survivable: false };
      });
      const led = [...leaders].filter(([, p]) => p.leader === victim).map(([partition]) => partition);
      const broker = brokers.nodes[victim - 1]!;
      await broker.stop('SIGKILL');
      note(
        `SIGKILL broker ${victim}, leader of partitions ${led.join(',')}` +
          (survivable ? '' : ' (reported in-sync sets short of two copies without it)'),
      );
      await waitFor(
        "new leaders for the killed broker's partitions",
        async () => {
          const now = await partitionReplicas(run.kafka, run.topic);
          return led.every((p) => ![victim, -1].includes(now.get(p)!.leader));
        },
        60_000,
        200,
      ).then(
        () => note('its partitions led by the other brokers'),
        (err: Error) => {
          if (survivable) throw err;
          note('its partitions wait for its restart');
        },
      );
      // …and started again, as an operator would, before the rest arrives: the group settles
      // with every broker back while the Redis master fails over.
      await broker.start();
      note(`broker ${victim} started again`);
      const producing = run.produce(third, run.data.length);
      const failover = await failOverLosingApplies(cluster, run, 6);
      note(`Redis master failed over (replica promoted after ${failover.promotedAfterMs} ms)`);
      await producing;
      await run.expectExact();
      note('Redis, ClickHouse and the ledger exact');
      await expectRecovered('cluster + brokers', run, gateway, live, failover, {
        killedBroker: victim,
        partitionsItLed: led,
        totalMs: Date.now() - started,
      });
    },
  );
});
