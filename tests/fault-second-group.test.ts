import { afterAll, describe, it } from 'vitest';
import { startFaultRun, type FaultRun } from './support/fault-run';
import { waitFor } from './support/stack';

/**
 * Issue 10 (d): a worker started with another KAFKA_GROUP_ID against the same Redis and
 * ClickHouse (a blue/green deploy, or a renamed group). Applied offsets belong to the
 * topic and the live state, so the new group takes over the same positions instead of
 * counting the retained topic again; while both groups run, each partition has one
 * owner at a time and the totals stay exact. (On the previous main this doubled every
 * total in both stores.)
 */
let r: FaultRun | undefined;

afterAll(async () => {
  await r?.close();
});

describe('fault: a second consumer group', () => {
  it('takes over the same positions and counts nothing twice', async () => {
    r = await startFaultRun('group', { count: 16_000 });
    r.startWorker();
    await r.produce(0, 8_000);
    await r.waitForRedis(8_000);

    const green = r.startWorker({ KAFKA_GROUP_ID: `${r.run}-green` });
    // The green worker reads the retained topic from the start, and must add nothing for it.
    await waitFor(
      'the green worker to join its group',
      async () => /took the partition|ingest running/.test(green.output()),
      60_000,
      250,
    );
    await new Promise((res) => setTimeout(res, 8_000));
    await r.waitForRedis(8_000);
    await r.produce(8_000, 16_000);
    await r.expectExact();
  });
});
