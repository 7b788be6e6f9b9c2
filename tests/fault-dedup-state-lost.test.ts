import { afterAll, describe, expect, it } from 'vitest';
import { expectedTotals } from '../services/simulator/src/dataset';
import { runCli } from './support/cli';
import { sameTotals, startFaultRun, type FaultRun } from './support/fault-run';
import { waitUntilStored } from './support/kafka';
import { clickhouseTotals } from './support/ledger';
import { deletePrefix, freePort, waitFor } from './support/stack';

/**
 * Issue 12 (4): Redis comes back without the resend window's state — the fingerprints
 * and the window marker gone, the live state and the applied offsets intact (a partial
 * restore, a failover to a copy without them; here the keys are deleted). Platforms
 * then resend events the worker counted minutes ago. The worker must not count them
 * again: it refuses the partitions (readiness red, an error naming `npm run rebuild`)
 * until a rebuild restores the fingerprints from ClickHouse, then drops the resends and
 * counts the new events, exact in Redis and ClickHouse. (On the previous main the worker
 * claimed the resends as first occurrences and counted them twice.)
 */
let r: FaultRun | undefined;

afterAll(async () => {
  await r?.close();
});

describe('fault: the resend window lost from Redis', () => {
  it('refuses to count resends without their fingerprints, and a rebuild restores them', async () => {
    r = await startFaultRun('ddlost', { count: 4_000, partitions: 3 });
    const run = r;
    const port = await freePort();
    const worker = run.startWorker({ INGEST_HTTP_PORT: String(port) });
    const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status ?? 0;
    const events = (from: number, to: number) =>
      run.data.slice(from, to).flatMap((m) => (m.event && m.kind === 'valid' ? [m.event] : []));
    const allTotals = async () => (await run.store.readTotals(['all'])).get('all')!;

    await run.produce(0, 2_000);
    await run.waitForRedis(2_000);
    await waitUntilStored(run.redis, run.run, run.topic);
    const counted = expectedTotals(events(0, 2_000)).get('all')!;

    const lost = await deletePrefix(run.redis, `${run.run}:dd`);
    expect(lost).toBeGreaterThan(0);
    // The platforms resend the first 600 messages (same events, new Kafka messages).
    await run.produce(0, 600);

    const refused = async () => worker.output().includes('resend fingerprints of') && (await readyz()) === 503;
    await waitFor(
      'the worker refusing the partitions (or counting the resends)',
      async () => (await refused()) || !sameTotals(await allTotals(), counted),
      60_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${worker.output().slice(-4000)}`);
    });
    const totals = await allTotals();
    expect(sameTotals(totals, counted), `resends counted again: ${JSON.stringify(totals)}`).toBe(true);
    expect(await refused()).toBe(true);
    expect(worker.output()).toContain('npm run rebuild');

    const rebuild = await runCli('rebuild', ['--json'], { ...run.env, REBUILD_GRACE_MS: '2000' });
    expect(rebuild.code, rebuild.stdout + rebuild.stderr).toBe(0);
    expect(rebuild.stderr).toMatch(
      /Redis: [1-9]\d* resend fingerprint\(s\) restored, of the rows stored in the 3600 s before the newest stored row/,
    );

    // The resends are dropped; the new events count once.
    await run.produce(2_000, 4_000);
    const want = expectedTotals(events(0, 4_000)).get('all')!;
    await waitFor(
      'Redis totals of all 4,000 messages',
      async () => sameTotals(await allTotals(), want),
      90_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await allTotals())}\n${worker.output().slice(-4000)}`);
    });
    await waitFor('the worker ready again', async () => (await readyz()) === 200, 30_000, 250);
    await waitUntilStored(run.redis, run.run, run.topic);
    const history = await clickhouseTotals(run.ch, run.run, run.topic);
    expect(sameTotals(history.get('all'), want), JSON.stringify(history.get('all'))).toBe(true);
  });
});
