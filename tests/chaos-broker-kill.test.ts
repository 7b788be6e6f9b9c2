import { logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { LiveEvent } from '@livetally/events';
import { createLiveTallyClient, type FlushReport, type LiveTallyClient } from '@livetally/sdk';
import {
  startChdb,
  startKafkaCluster,
  startRedis,
  tearDown,
  type DedicatedKafkaCluster,
  type DedicatedService,
} from './support/dedicated';
import { startFaultRun, type FaultRun } from './support/fault-run';
import { groupCoordinator, partitionReplicas } from './support/kafka';
import { waitFor, type ClickHouseAccount } from './support/stack';

/**
 * Issue 12 (2): Kafka with replication. The test's own three KRaft brokers (the shared
 * stack is never touched) hold a 12-partition topic with three copies of every
 * partition and min.insync.replicas=2. The SDK's Kafka transport (idempotent producer,
 * acks=all) sends 120,000 events with platform resends while two real ingest workers
 * count them. In the middle, the broker that coordinates the workers' consumer group
 * and leads some of the topic's partitions is SIGKILLed; the other two take over its
 * partitions and the group, and it is started again later and catches up. At the end:
 * the SDK had every event acknowledged, Redis and ClickHouse hold the data set's exact
 * totals in every scope, and the ledger shows every offset on the topic ended once, and
 * exactly as many offsets as messages sent: a producer retry across the failover wrote
 * nothing twice and left nothing out (on kafkajs' send alone, before completeSends, the
 * SDK had 162 events acknowledged that never reached the topic; Redis stayed short with
 * every partition applied to its end; tests/kafka-broker-death.test.ts pins that down).
 */
const COUNT = 120_000;
const CHUNK = 4_000;
const PRODUCE_PAUSE_MS = 400;
const KILL_AT = 0.35; // share of the data set acknowledged before the kill
const RESTART_AT = 0.7; // …and before the restart
// Hard cap of the whole test (start-up of three brokers included).
const TEST_TIMEOUT_MS = 360_000;

let cluster: DedicatedKafkaCluster | undefined;
let redis: DedicatedService | undefined;
let chdb: (DedicatedService & { credentials: ClickHouseAccount }) | undefined;
let r: FaultRun | undefined;
let client: LiveTallyClient | undefined;

afterAll(async () => {
  await tearDown(
    [
      ['the SDK client', () => client?.close()],
      ['the fault run', () => r?.close()],
    ],
    [cluster, redis, chdb],
  );
});

describe('Kafka with replication: a broker SIGKILLed under load and restarted', () => {
  it(
    'loses and doubles nothing: the SDK had every event acknowledged, Redis, ClickHouse and the ledger are exact',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const t0 = Date.now();
      // Written at once: a run that hits the test's time limit still shows how far it got.
      const note = (what: string) => process.stdout.write(`[chaos-broker-kill] +${seconds(t0)} s ${what}\n`);
      [cluster, redis, chdb] = await Promise.all([startKafkaCluster(3), startRedis(), startChdb()]);
      note(`three brokers (${cluster.url}), Redis and chDB up`);
      const run = (r = await startFaultRun('chaos_broker_kill', {
        count: COUNT,
        partitions: 12,
        dlqPartitions: 3,
        seed: 1212,
        // Everything through the SDK, which validates before sending: no malformed messages.
        dataset: { malformedEvery: 0, duplicateEvery: 47, hosts: 600 },
        stores: { kafka: cluster, redis, chdb },
      }));
      const inSync = (broker: number) => async () =>
        [...(await partitionReplicas(run.kafka, run.topic)).values()].every((p) => p.isr.includes(broker));
      run.startWorker();
      run.startWorker();

      client = createLiveTallyClient({
        transport: 'kafka',
        brokers: cluster.url.split(','),
        topic: run.topic,
        clientId: `${run.run}-sdk`,
        // The failover takes seconds; a batch resent by the SDK after its own timeout would
        // be a second copy on the topic, which is what the ledger below would catch.
        sendTimeoutMs: 60_000,
        giveUpAfterMs: 120_000,
        // Retries are bounded by giveUpAfterMs: on a busy machine a failover can fail more
        // quick attempts than the default 8 before the new leaders answer.
        maxAttempts: 1_000,
        kafka: { logLevel: logLevel.NOTHING }, // kafkajs logs every refused connection to the dead broker
      });
      const sdk = client;
      let acknowledged = 0;
      let failed: Error | undefined;
      const reports: FlushReport[] = [];
      // The producer waits at the kill share until every replica has caught up (a broker
      // starved of CPU on a busy machine may lag for a while), so the kill never comes
      // after the whole data set; it is released just before the kill, which so lands
      // while its next send is in flight.
      let holdAt = KILL_AT * COUNT;
      let release: (() => void) | undefined;
      const producing = (async () => {
        for (let i = 0; i < COUNT; i += CHUNK) {
          const chunk = run.data.slice(i, i + CHUNK).map((m) => JSON.parse(m.value.toString()) as LiveEvent);
          await sdk.sendMany(chunk);
          reports.push(await sdk.flush());
          acknowledged = Math.min(COUNT, i + CHUNK);
          if (acknowledged % (6 * CHUNK) === 0) note(`${acknowledged} events acknowledged`);
          if (acknowledged >= holdAt) {
            holdAt = Infinity;
            await new Promise<void>((resolve) => (release = resolve));
          }
          await sleep(PRODUCE_PAUSE_MS);
        }
        note(`all ${COUNT} events acknowledged to the SDK`);
      })().catch((err: Error) => void (failed = err));
      const reached = (share: number) =>
        waitFor(
          `${share * COUNT} events acknowledged`,
          async () => {
            if (failed) throw failed;
            return acknowledged >= share * COUNT;
          },
          150_000,
          100,
        );

      await reached(KILL_AT);
      // Every copy in sync first, if it gets there: on a busy machine a follower may keep
      // dropping out of a partition's in-sync replicas and coming back.
      const allInSync = async () => (await Promise.all([1, 2, 3].map((node) => inSync(node)()))).every(Boolean);
      const synced = await waitFor('every broker in every in-sync replica set', allInSync, 60_000, 500).then(
        () => true,
        () => false,
      );
      const coordinator = await waitFor('the group coordinator', () => groupCoordinator(run.kafka, run.run));
      const led = (node: number, leaders: Map<number, { leader: number }>) =>
        [...leaders].filter(([, p]) => p.leader === node).map(([partition]) => partition);
      const before = await partitionReplicas(run.kafka, run.topic);
      // Preferably a broker whose loss leaves every partition min.insync.replicas (2) copies
      // in sync, so writes go on: the coordinator if it leads partitions, else one that does.
      // Otherwise the coordinator all the same: writes to the partitions left with one copy
      // wait for its restart, which comes at the restart share or 20 s after the kill.
      const survivable = (node: number) =>
        [...before.values()].every((p) => p.isr.filter((b) => b !== node).length >= 2);
      const leads = [coordinator, 1, 2, 3].filter((node) => led(node, before).length > 0);
      const victim = leads.find(survivable) ?? leads[0]!;
      const victimLed = led(victim, before);
      if (!synced)
        note(
          `not every copy was in sync after 60 s; killing broker ${victim}` +
            (survivable(victim) ? ', whose loss leaves two of each' : ': some writes wait for its restart'),
        );
      const broker = cluster.nodes[victim - 1]!;
      await waitFor('the producer to hold at the kill share', async () => release !== undefined, 10_000, 10);
      release!();
      await sleep(200);
      await broker.stop('SIGKILL');
      note(
        `SIGKILL broker ${victim} at ${acknowledged} acknowledged (group coordinator: ${victim === coordinator}; leader of partitions ${victimLed.join(',')})`,
      );
      // A partition whose only in-sync copy was the victim's has no leader until the restart
      // (no unclean election): the wait is then bounded by the restart's 20 s and not a failure.
      const leftSurvivable = survivable(victim);
      await waitFor(
        'the partitions led by the killed broker to have new leaders',
        async () => {
          const now = await partitionReplicas(run.kafka, run.topic);
          return victimLed.every((p) => ![victim, -1].includes(now.get(p)!.leader));
        },
        leftSurvivable ? 60_000 : 20_000,
      ).then(
        () => note(`partitions ${victimLed.join(',')} led by the other brokers`),
        (err: Error) => {
          if (leftSurvivable) throw err;
          note(`some of partitions ${victimLed.join(',')} wait for broker ${victim}'s restart (no other copy in sync)`);
        },
      );

      await Promise.race([reached(RESTART_AT), sleep(20_000)]);
      note(`starting broker ${victim} again at ${acknowledged} acknowledged`);
      await broker.start();
      note(`broker ${victim} registered again`);
      await producing;
      if (failed) throw failed;
      const report = await sdk.close();
      reports.push(report);
      const failures = new Map<string, number>();
      for (const f of reports.flatMap((rep) => rep.failed)) {
        const why = `${f.status === 'failed' ? f.code : f.status}: ${'error' in f ? String(f.error).slice(0, 200) : ''}`;
        failures.set(why, (failures.get(why) ?? 0) + 1);
      }
      expect(Object.fromEntries(failures)).toEqual({});
      expect(reports.reduce((sum, rep) => sum + rep.accepted, 0)).toBe(COUNT);

      await run.expectExact({ timeoutMs: 150_000 });
      note('Redis, ClickHouse and the ledger exact');
      // Said, not asserted: on this machine the in-sync sets that metadata reports can lag or
      // flap for minutes while writes with acks=all and min.insync.replicas=2 go on (seen in
      // runs that ended exact), so they are no ground for failing; the data above is.
      const back = await waitFor(
        `broker ${victim} back in every in-sync replica set`,
        inSync(victim),
        60_000,
        500,
      ).then(
        () => 'in sync again on all 12 partitions',
        () => 'not yet reported in every in-sync replica set after 60 s',
      );
      note(`broker ${victim} ${back}`);
    },
  );
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const seconds = (from: number) => ((Date.now() - from) / 1000).toFixed(1);
