import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChdb, startKafka, startRedis, tearDown, type DedicatedService } from './support/dedicated';
import { startOutageRun, type OutageRun } from './support/outage';

/**
 * The Kafka broker restarts mid-stream (SIGTERM, then started again on the same ports
 * and log directory): the worker reconnects by itself and, with more events produced
 * after the broker returned, finishes exact. Broker, Redis and chDB are this test's own.
 */
describe('outage: the Kafka broker restarts', () => {
  let kafka: DedicatedService | undefined;
  let redis: DedicatedService | undefined;
  let chdb: DedicatedService | undefined;
  let run: OutageRun | undefined;

  beforeAll(async () => {
    [kafka, redis, chdb] = await Promise.all([startKafka(), startRedis(), startChdb()]);
    run = await startOutageRun({
      label: 'outage_kafka',
      brokers: [kafka.url],
      redis,
      chdb,
      seed: 63,
      // A consumer that crashed while the broker was away rejoins as a new member; the
      // group waits out the old member's session first. Keep that wait short here.
      workerEnv: { INGEST_SESSION_TIMEOUT_MS: '10000', INGEST_HEARTBEAT_MS: '1000' },
    });
  });

  afterAll(async () => {
    await tearDown([['the outage run', () => run?.close({ deleteTopics: false })]], [kafka, redis, chdb]);
  });

  // A broker restart takes 5-30 s on a busy 2-core machine: more room than the default 120 s.
  it('reconnects and continues without loss', { timeout: 240_000 }, async () => {
    const r = run!;
    const t0 = Date.now();
    await r.waitReadyz(200, 60_000);
    const startedMs = r.since(t0);

    await r.produce(0);
    await r.until('first events counted', async () => (await r.progress()) > 0, 30_000);
    await r.produce(1);

    const countedBefore = await r.progress();
    const down = Date.now();
    await kafka!.stop('SIGTERM');
    const stopMs = r.since(down);
    await new Promise((res) => setTimeout(res, 3_000));
    expect(r.worker.child.exitCode).toBeNull();

    const back = Date.now();
    await kafka!.start();
    const brokerUpMs = r.since(back);
    await r.produce(2); // producing continues once the broker is back
    await r.produce(3);
    await r.waitExact(90_000);
    const exactMs = r.since(back);

    expect(await r.redisDiffs()).toEqual([]);
    const ch = await r.clickhouse();
    expect(ch.rows).toBe(ch.valid);
    expect(ch.distinctOffsets).toBe(ch.rows);
    expect(r.worker.child.exitCode).toBeNull();
    await r.waitReadyz(200, 30_000);
    process.stdout.write(
      `[outage-kafka] worker ready ${startedMs} ms; ${countedBefore}/${r.data.length} counted at SIGTERM; broker stopped in ${stopMs} ms, ` +
        `up again ${brokerUpMs} ms after start; exact ${exactMs} ms after the restart began; total ${r.since(t0)} ms\n`,
    );
  });
});
