import type { ClickHouseClient } from '@clickhouse/client';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

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
];

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
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({ table: 'lt_schema_migrations', values: [{ version: m.version, name: m.name }], format: 'JSONEachRow' });
    applied.push(m.version);
  }
  return applied;
}
