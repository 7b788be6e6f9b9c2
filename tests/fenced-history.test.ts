import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASURES, tally, type LiveEvent, type MeasureTotals } from '@livetally/events';
import { FencedEventWriter, rollupColumn, toEventRow, type FencedRow } from '@livetally/history';
import { buildDataset } from '../services/simulator/src/dataset';
import { createHistoryDatabase } from './support/gateway-history';

/**
 * The ClickHouse fence of the write path on the real engine: rows written under a
 * partition's current owner generation are stored (and rolled up), rows of a former
 * owner are dropped by ClickHouse itself however late they arrive, and taking
 * ownership waits for flushes that were already running.
 */
const START = Date.parse('2024-08-23T00:00:00+08:00');
const events: LiveEvent[] = buildDataset({ seed: 3, count: 40, startTs: START, spanMs: 60_000, hosts: 5 }).map(
  (m) => m.event!,
);
const rowsOf = (from: number, to: number, partition: number, ownerGen: number): FencedRow[] =>
  events
    .slice(from, to)
    .map((e, i) => ({ row: toEventRow(e, { topic: 't', partition, offset: String(from + i) }), ownerGen }));

let db: Awaited<ReturnType<typeof createHistoryDatabase>>;
let client: ClickHouseClient;
let writer: FencedEventWriter;

async function offsets(partition: number): Promise<number[]> {
  return [...(await writer.storedOffsets('t', partition, '-1'))].map(Number).sort((a, b) => a - b);
}

/** Every measure of the rollup summed over all its rows (one query). */
async function rolledUp(): Promise<MeasureTotals> {
  const columns = MEASURES.map((m) => `toString(sum(${rollupColumn(m)})) AS ${m}`).join(', ');
  const rs = await client.query({ query: `SELECT ${columns} FROM lt_rollup_minute`, format: 'JSONEachRow' });
  const [row] = await rs.json<Record<string, string>>();
  return Object.fromEntries(MEASURES.map((m) => [m, Number(row?.[m] ?? 0)])) as MeasureTotals;
}

beforeAll(async () => {
  db = await createHistoryDatabase('fence');
  client = db.client;
  writer = new FencedEventWriter(client, { flushWaitMs: 10_000, pollMs: 50 });
});

afterAll(async () => {
  await db?.drop();
});

describe('FencedEventWriter', () => {
  it('stores the current owner rows and drops a former owner rows, in the raw table and the rollup', async () => {
    await writer.takeOwnership('t', 0, 1, 'w1');
    await writer.takeOwnership('t', 1, 1, 'w1');
    await writer.insert([...rowsOf(0, 10, 0, 1), ...rowsOf(10, 20, 1, 1)], 'w1-1');
    expect(await offsets(0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // w2 takes partition 0; w1, paused meanwhile, flushes what it still held for both partitions.
    await writer.takeOwnership('t', 0, 2, 'w2');
    await writer.insert([...rowsOf(20, 25, 0, 1), ...rowsOf(25, 30, 1, 1)], 'w1-2');
    await writer.insert(rowsOf(30, 35, 0, 2), 'w2-1');

    expect(await offsets(0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 31, 32, 33, 34]);
    expect(await offsets(1)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 25, 26, 27, 28, 29]);
    // The rollup holds exactly the stored rows: what the counting rule says of events 0–19 and 25–34.
    const stored = [...events.slice(0, 20), ...events.slice(25, 35)];
    expect(await rolledUp()).toEqual(tally(stored).get('all'));
    expect([...(await writer.storedOffsets('t', 0, '9'))].sort()).toEqual(['30', '31', '32', '33', '34']);
  });

  it('takes ownership only after the flushes already running have ended', async () => {
    const running = client.command({
      query: 'SELECT sleep(1.5)',
      clickhouse_settings: { log_comment: 'lt-flush:slow' },
    });
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await writer.takeOwnership('t', 2, 1, 'w3');
    expect(performance.now() - started).toBeGreaterThan(900);
    await running;
  });

  it('settles a named flush: returns once it no longer runs', async () => {
    const running = client.command({ query: 'SELECT sleep(1)', clickhouse_settings: { log_comment: 'lt-flush:mine' } });
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    await writer.settle('mine');
    expect(performance.now() - started).toBeGreaterThan(500);
    await running;
  });
});
