import type { ClickHouseClient } from '@clickhouse/client';
import type { Measure } from '@livetally/events';
import { rollupColumnDefinition, rollupTableDefinition } from './counting-sql';
import { FILLS_TABLE, derivedRollup, derivedViewQuery, fillRollups, type DerivedTable } from './rollup-fill';
import { DAY_ROLLUP, HOUR_ROLLUP, MINUTE_ROLLUP, ROLLUPS, type Rollup } from './rollups';
import { EVENT_ROW_COLUMNS } from './rows';
import { VIEWER_SKETCHES, VIEWER_SKETCH_TABLE } from './viewer-sketches';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
  /**
   * The version changes what the rollups compute (a measure column) or adds a rollup:
   * once it is applied, every rollup's view is pointed at (or created with) the query the
   * counting rule gives, and a new rollup is filled with the rows stored before it
   * (settleRollups). That happens once, after the last such version pending, so a new
   * database never runs an intermediate query that could read a column a later version adds.
   */
  refreshesRollupView?: true;
}

/**
 * Adds a measure's column to every rollup, typed as the counting rule says (existing rows
 * read 0). Versions before the coarser rollups existed name only the minute rollup.
 */
function addRollupMeasure(measure: Measure, rollups: readonly Rollup[] = ROLLUPS): string[] {
  return rollups.map((r) => `ALTER TABLE ${r.table} ADD COLUMN IF NOT EXISTS ${rollupColumnDefinition(measure)}`);
}

// lt_events' inserted columns (same types), plus the generation of the partition owner that wrote the row.
const FENCED_COLUMNS = `event_id String, platform LowCardinality(String), type LowCardinality(String), stream_id String, host_id String,
        ts DateTime64(3, 'Asia/Shanghai'), city LowCardinality(String), district LowCardinality(String), category LowCardinality(String),
        viewer_id String, order_id String, sku String, quantity UInt32, amount_fen Int64, title String,
        topic LowCardinality(String), kafka_partition UInt16, kafka_offset UInt64, owner_gen UInt64`;

// lt_events_ingest's view into lt_events: the fenced rows with the given columns.
const ingestViewQuery = (columns: readonly string[]) => `SELECT ${columns.join(', ')}
      FROM lt_events_ingest
      WHERE (topic, kafka_partition, owner_gen) IN (
        SELECT topic, kafka_partition, max(gen) FROM lt_partition_owners GROUP BY topic, kafka_partition
      )`;

// The row columns before version 5 added `count`: version 3's view must not read a column that does not exist yet.
const ROW_COLUMNS_BEFORE_COUNT = EVENT_ROW_COLUMNS.filter((c) => c !== 'count');

/**
 * Versioned schema. Statements are idempotent (IF NOT EXISTS) because several
 * workers may start at once and race to apply the same version.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'raw events',
    statements: [
      `CREATE TABLE IF NOT EXISTS lt_events (
        event_id String,
        platform LowCardinality(String),
        type LowCardinality(String),
        stream_id String,
        host_id String,
        ts DateTime64(3, 'Asia/Shanghai'),
        city LowCardinality(String),
        district LowCardinality(String),
        category LowCardinality(String),
        viewer_id String DEFAULT '',
        order_id String DEFAULT '',
        sku String DEFAULT '',
        quantity UInt32 DEFAULT 0,
        amount_fen Int64 DEFAULT 0,
        title String DEFAULT '',
        topic LowCardinality(String),
        kafka_partition UInt16,
        kafka_offset UInt64,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      )
      ENGINE = MergeTree
      PARTITION BY toYYYYMM(ts)
      ORDER BY (type, ts, platform, event_id)
      -- Retried inserts carry the same insert_deduplication_token and are dropped.
      SETTINGS non_replicated_deduplication_window = 10000`,
    ],
  },
  {
    version: 2,
    name: 'per-minute rollups and campaigns',
    statements: [
      // One row per minute and dimension combination; sums are exact, uniques are
      // HyperLogLog-style estimates. Stream ids stay out: their cardinality would make
      // the rollup as large as the raw table (per-stream history reads lt_events).
      `CREATE TABLE IF NOT EXISTS lt_rollup_minute (
        minute DateTime('Asia/Shanghai'),
        platform LowCardinality(String),
        city LowCardinality(String),
        district LowCardinality(String),
        category LowCardinality(String),
        host_id String,
        views SimpleAggregateFunction(sum, UInt64),
        sessions SimpleAggregateFunction(sum, UInt64),
        sessions_ended SimpleAggregateFunction(sum, UInt64),
        sales_fen SimpleAggregateFunction(sum, Int64),
        refunds_fen SimpleAggregateFunction(sum, Int64),
        orders SimpleAggregateFunction(sum, UInt64),
        items SimpleAggregateFunction(sum, UInt64),
        refunds SimpleAggregateFunction(sum, UInt64),
        viewers AggregateFunction(uniq, String)
      )
      ENGINE = AggregatingMergeTree
      PARTITION BY toYYYYMM(minute)
      ORDER BY (minute, platform, city, district, category, host_id)
      SETTINGS non_replicated_deduplication_window = 10000`,
      // A retried insert that lt_events drops as a duplicate is not pushed to this view either.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS lt_rollup_minute_mv TO lt_rollup_minute AS
      SELECT
        toStartOfMinute(ts) AS minute, platform, city, district, category, host_id,
        toUInt64(countIf(type = 'view')) AS views,
        toUInt64(countIf(type = 'stream_started')) AS sessions,
        toUInt64(countIf(type = 'stream_ended')) AS sessions_ended,
        toInt64(sumIf(amount_fen, type = 'sale')) AS sales_fen,
        toInt64(sumIf(amount_fen, type = 'refund')) AS refunds_fen,
        toUInt64(countIf(type = 'sale')) AS orders,
        toUInt64(sumIf(quantity, type = 'sale')) AS items,
        toUInt64(countIf(type = 'refund')) AS refunds,
        uniqStateIf(viewer_id, type = 'view') AS viewers
      FROM lt_events
      GROUP BY minute, platform, city, district, category, host_id`,
      `CREATE TABLE IF NOT EXISTS lt_campaigns (
        id String,
        version UInt64,
        body String,
        updated_at DateTime64(3, 'UTC')
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY id`,
    ],
  },
  {
    version: 3,
    name: 'fenced ingest: partition owners and the ingest table that drops stale owners',
    statements: [
      // One row per ownership taken; the highest generation of a partition is its owner.
      `CREATE TABLE IF NOT EXISTS lt_partition_owners (
        topic LowCardinality(String),
        kafka_partition UInt16,
        gen UInt64,
        owner String,
        taken_at DateTime64(3, 'UTC') DEFAULT now64(3)
      )
      ENGINE = ReplacingMergeTree(gen)
      ORDER BY (topic, kafka_partition)`,
      // Workers insert here, never into lt_events directly: the view below passes on only
      // the rows whose owner generation is still the partition's owner when the insert
      // runs, so a paused former owner's late insert stores nothing (ADR 0001).
      `CREATE TABLE IF NOT EXISTS lt_events_ingest (
        ${FENCED_COLUMNS}
      )
      ENGINE = Null`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS lt_events_ingest_mv TO lt_events AS
      ${ingestViewQuery(ROW_COLUMNS_BEFORE_COUNT)}`,
    ],
  },
  {
    version: 4,
    name: 'likes in the per-minute rollups',
    statements: addRollupMeasure('likes', [MINUTE_ROLLUP]),
    refreshesRollupView: true,
  },
  {
    version: 5,
    name: 'count: how many views (or likes) a row stands for, 1 for every earlier row',
    statements: [
      // Rows stored before read the default: each was one view.
      `ALTER TABLE lt_events ADD COLUMN IF NOT EXISTS count UInt32 DEFAULT 1`,
      `ALTER TABLE lt_events_ingest ADD COLUMN IF NOT EXISTS count UInt32 DEFAULT 1`,
      `ALTER TABLE lt_events_ingest_mv MODIFY QUERY ${ingestViewQuery(EVENT_ROW_COLUMNS)}`,
    ],
    // views is now sumIf(count, …) in the counting rule's SQL.
    refreshesRollupView: true,
  },
  {
    version: 6,
    name: 'hourly rollup without hosts, daily rollup per host',
    // Their views are created and the rows already stored filled in by settleRollups.
    statements: [FILLS_TABLE, rollupTableDefinition(HOUR_ROLLUP), rollupTableDefinition(DAY_ROLLUP)],
    refreshesRollupView: true,
  },
  {
    version: 7,
    name: 'unique viewers per day and scope as fixed-size sketches (ADR 0004)',
    // Its view is created and the rows already stored filled in by settleRollups.
    statements: [VIEWER_SKETCH_TABLE],
    refreshesRollupView: true,
  },
];

/** Every table a view fills from lt_events: the rollups, then the viewer sketches. */
const DERIVED_TABLES: readonly DerivedTable[] = [...ROLLUPS.map(derivedRollup), VIEWER_SKETCHES];

const LEDGER = `CREATE TABLE IF NOT EXISTS lt_schema_migrations (
  version UInt32,
  name String,
  applied_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree ORDER BY version`;

/** Applies every migration not yet recorded; returns the versions it applied. */
export async function migrate(client: ClickHouseClient, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  await client.command({ query: LEDGER });
  const rs = await client.query({ query: 'SELECT DISTINCT version FROM lt_schema_migrations', format: 'JSONEachRow' });
  const done = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
  const applied: number[] = [];
  const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => !done.has(m.version));
  const lastRefresh = pending.filter((m) => m.refreshesRollupView).at(-1);
  for (const m of pending) {
    for (const statement of m.statements) await client.command({ query: statement });
    // Before the version is recorded: a start that dies in between repeats it.
    if (m === lastRefresh) await settleRollups(client, done.size === 0);
    await client.insert({
      table: 'lt_schema_migrations',
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    });
    applied.push(m.version);
  }
  return applied;
}

/**
 * Points the view of every derived table that exists (rollups, viewer sketches) at the
 * counting rule's query (creating the views of new tables; a view keeps filling its table
 * while MODIFY QUERY replaces its query), then fills in new tables (rollup-fill.ts). `fromNothing`: this run created
 * lt_events, so no row is stored yet.
 */
async function settleRollups(client: ClickHouseClient, fromNothing: boolean): Promise<void> {
  const rs = await client.query({
    query: 'SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}',
    query_params: { names: DERIVED_TABLES.map((r) => r.table) },
    format: 'JSONEachRow',
  });
  const existing = new Set((await rs.json<{ name: string }>()).map((r) => r.name));
  const tables = DERIVED_TABLES.filter((r) => existing.has(r.table));
  for (const table of tables) {
    const query = derivedViewQuery(table);
    await client.command({
      query: `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table.view} TO ${table.table} AS ${query}`,
    });
    await client.command({ query: `ALTER TABLE ${table.view} MODIFY QUERY ${query}` });
  }
  await fillRollups(
    client,
    tables.filter((r) => r.fenced),
    fromNothing,
  );
}
