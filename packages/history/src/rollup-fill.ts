import type { ClickHouseClient } from '@clickhouse/client';
import { rollupSelect } from './counting-sql';
import type { Rollup } from './rollups';

/**
 * A table its materialized view fills from lt_events: a rollup, or the viewer sketches
 * (viewer-sketches.ts).
 */
export interface DerivedTable {
  table: string;
  view: string;
  /** Created after events were stored: fenced and filled (below); queries read it once filled. */
  fenced: boolean;
  /** What the lt_events rows `where` picks add to it (a SELECT the view and the fill insert). */
  select(where?: string): string;
}

export function derivedRollup(rollup: Rollup): DerivedTable {
  return {
    table: rollup.table,
    view: rollup.view,
    fenced: rollup.fenced,
    select: (where) => rollupSelect(rollup, where),
  };
}

/**
 * A derived table (a rollup, say) created while lt_events already holds rows, perhaps while workers of the
 * previous release keep inserting, and while other processes run the same migration.
 * Its view counts the rows ingested (lt_events.ingested_at, the server's clock at the
 * insert) from its fence on; the rows ingested before are added once by a fill. Every
 * row is so counted once:
 *
 * 1. The view exists before the fence is written and counts nothing until then.
 * 2. The fence is the server's time plus FENCE_LEAD_MS, so it is stored (one row, in
 *    milliseconds) before any insert can stamp a row with a time at or after it. Every
 *    migrating process proposes one with the same deduplication token: the first stored
 *    is the one all read back.
 * 3. Once the fence has passed and the inserts that began before it have ended, the rows
 *    before it are a fixed set: the fill adds them one Asia/Shanghai day at a time, each
 *    day's insert with a token of its own, so a process that runs the fill again (a
 *    racing start, or after a crash) adds nothing twice; filled days are recorded.
 * 4. `done` is recorded last; queries read a fenced rollup only once it is done.
 *
 * A database migrated from nothing holds no rows yet: its fence is the epoch (nothing to
 * fill, nothing to wait for). Processes insert only after their own migration, which
 * reads the fence back, so none inserts while the view counts nothing.
 */
export const FILLS_TABLE = `CREATE TABLE IF NOT EXISTS lt_rollup_fills (
  rollup_table LowCardinality(String),
  step LowCardinality(String),
  at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (rollup_table, step, at)
SETTINGS non_replicated_deduplication_window = 1000`;
// Rows per rollup table: its fence ('fence'), the start of each filled day ('day'), when the fill ended ('done').

const FENCE_LEAD_MS = 5_000;
/** How long the fill waits for inserts begun before the fence; then the migration fails and is retried. */
const INSERT_WAIT_MS = 120_000;
const POLL_MS = 200;
const NEVER = "toDateTime64('2200-01-01 00:00:00', 3, 'UTC')";

/** The rows a fenced table's view counts: ingested from its fence on (none while there is no fence). */
export function fenceCondition(table: Pick<DerivedTable, 'table'>): string {
  return `ingested_at >= (SELECT if(count() = 0, ${NEVER}, min(at)) FROM lt_rollup_fills WHERE rollup_table = '${table.table}' AND step = 'fence')`;
}

/** A derived table's view query: what every row adds, past the fence for a fenced table. */
export function derivedViewQuery(table: DerivedTable): string {
  return table.select(table.fenced ? fenceCondition(table) : undefined);
}

/** The fenced tables whose fill is done (the tables queries may read); none before the migration that adds them. */
export async function filledRollups(client: ClickHouseClient): Promise<Set<string>> {
  const exists = await scalar(
    client,
    "SELECT count() AS v FROM system.tables WHERE database = currentDatabase() AND name = 'lt_rollup_fills'",
    {},
  );
  if (exists === 0) return new Set();
  const rs = await client.query({
    query: "SELECT DISTINCT rollup_table FROM lt_rollup_fills WHERE step = 'done'",
    format: 'JSONEachRow',
  });
  return new Set((await rs.json<{ rollup_table: string }>()).map((r) => r.rollup_table));
}

/** Fences the tables (their views exist) and fills in the rows before each fence, skipping those done already. */
export async function fillRollups(
  client: ClickHouseClient,
  tables: readonly DerivedTable[],
  fromNothing: boolean,
): Promise<void> {
  if (tables.length === 0) return;
  const done = await filledRollups(client);
  const fences = new Map<DerivedTable, number>();
  for (const rollup of tables.filter((r) => !done.has(r.table)))
    fences.set(rollup, await fence(client, rollup, fromNothing));
  if (fences.size === 0) return;
  await waitForInsertsBefore(client, Math.max(...fences.values()));
  for (const [rollup, at] of fences) await fill(client, rollup, at);
}

/** Proposes the rollup's fence and returns the one stored (the first proposed), in ms. */
async function fence(client: ClickHouseClient, rollup: DerivedTable, fromNothing: boolean): Promise<number> {
  const params = { rollup: rollup.table, fromNothing };
  await client.command({
    query: `INSERT INTO lt_rollup_fills (rollup_table, step, at)
      SELECT {rollup:String}, 'fence', if({fromNothing:Bool}, toDateTime64(0, 3, 'UTC'), now64(3) + toIntervalMillisecond(${FENCE_LEAD_MS}))`,
    query_params: params,
    clickhouse_settings: {
      insert_deduplication_token: `fence:${rollup.table}`,
      deduplicate_insert_select: 'force_enable',
    },
  });
  return scalar(
    client,
    "SELECT toUnixTimestamp64Milli(min(at)) AS v FROM lt_rollup_fills WHERE rollup_table = {rollup:String} AND step = 'fence'",
    params,
  );
}

/** Adds the rows ingested before the fence, a day at a time, then records the rollup done. */
async function fill(client: ClickHouseClient, rollup: DerivedTable, fence: number): Promise<void> {
  for (const day of await daysToFill(client, rollup, fence)) {
    await client.command({
      query: `INSERT INTO ${rollup.table} ${rollup.select(
        "ingested_at < fromUnixTimestamp64Milli({fence:Int64}, 'UTC') AND toStartOfDay(ts) = toDateTime({day:UInt32}, 'Asia/Shanghai')",
      )}`,
      query_params: { fence, day },
      clickhouse_settings: {
        insert_deduplication_token: `fill:${rollup.table}:${fence}:${day}`,
        deduplicate_insert_select: 'force_enable',
      },
    });
    await record(client, rollup, 'day', `toDateTime64(${day}, 3, 'UTC')`);
  }
  await record(client, rollup, 'done', 'now64(3)');
}

async function record(client: ClickHouseClient, rollup: DerivedTable, step: 'day' | 'done', at: string): Promise<void> {
  await client.command({
    query: `INSERT INTO lt_rollup_fills (rollup_table, step, at) SELECT {rollup:String}, '${step}', ${at}`,
    query_params: { rollup: rollup.table },
  });
}

/** The Asia/Shanghai days (epoch seconds) holding rows ingested before the fence, not filled yet. */
async function daysToFill(client: ClickHouseClient, rollup: DerivedTable, fence: number): Promise<number[]> {
  const [stored, filled] = await Promise.all([
    column(
      client,
      `SELECT DISTINCT toUnixTimestamp(toStartOfDay(ts)) AS v FROM lt_events
        WHERE ingested_at < fromUnixTimestamp64Milli({fence:Int64}, 'UTC') ORDER BY v`,
      { fence },
    ),
    column(
      client,
      "SELECT toUnixTimestamp(at) AS v FROM lt_rollup_fills WHERE rollup_table = {rollup:String} AND step = 'day'",
      {
        rollup: rollup.table,
      },
    ),
  ]);
  const done = new Set(filled);
  return stored.filter((day) => !done.has(day));
}

/** Waits until the fence has passed on the server's clock and no insert into this database begun before it still runs. */
async function waitForInsertsBefore(client: ClickHouseClient, fence: number): Promise<void> {
  const deadline = performance.now() + FENCE_LEAD_MS + INSERT_WAIT_MS;
  for (;;) {
    // Inserts that began up to a second after the fence count too: a little longer waiting, never one missed.
    const [ahead, running] = await Promise.all([
      scalar(client, 'SELECT {fence:Int64} - toUnixTimestamp64Milli(now64(3)) AS v', { fence }),
      scalar(
        client,
        `SELECT count() AS v FROM system.processes
          WHERE query_kind = 'Insert' AND current_database = currentDatabase()
            AND elapsed >= (toUnixTimestamp64Milli(now64(3)) - {fence:Int64}) / 1000 - 1`,
        { fence },
      ),
    ]);
    if (ahead <= 0 && running === 0) return;
    if (performance.now() > deadline)
      throw new Error('inserts begun before a new rollup was fenced still run; the migration will be retried');
    await new Promise((r) => setTimeout(r, Math.max(POLL_MS, Math.min(ahead, FENCE_LEAD_MS))));
  }
}

async function column(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<number[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await rs.json<{ v: number | string }>()).map((r) => Number(r.v));
}

async function scalar(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<number> {
  return (await column(client, query, params))[0] ?? 0;
}
