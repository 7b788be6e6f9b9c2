import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { HistoryObserver } from './event-history';
import { EVENT_ROW_COLUMNS, encodeRowsTsv, type EventRow } from './rows';

/** A row as a partition owner writes it: the event row and the owner's generation. */
export interface FencedRow {
  row: EventRow;
  ownerGen: number;
}

/** Every flush names itself in `log_comment`, so a new owner can see the ones still running. */
const FLUSH_COMMENT = 'lt-flush:';
const FENCED_COLUMNS: [string, ...string[]] = [...EVENT_ROW_COLUMNS, 'owner_gen'];

export interface FencedWriterOptions {
  /** How long takeOwnership waits for older flushes before it kills them. */
  flushWaitMs?: number;
  pollMs?: number;
  observer?: HistoryObserver;
}

/**
 * ClickHouse's side of the fenced write path (ADR 0001). A partition owner records its
 * generation in lt_partition_owners; rows go into lt_events_ingest, whose view passes
 * on only rows whose generation is still the partition's owner when the insert runs.
 * So once a new owner has written its generation and waited out the flushes that were
 * already running, no former owner can add a row for that partition, however late.
 */
export class FencedEventWriter {
  private readonly flushWaitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly client: ClickHouseClient,
    options: FencedWriterOptions = {},
  ) {
    this.flushWaitMs = options.flushWaitMs ?? 60_000;
    this.pollMs = options.pollMs ?? 100;
    this.observer = options.observer ?? {};
  }

  private readonly observer: HistoryObserver;

  /**
   * Makes `gen` the partition's owner in ClickHouse, then waits until every flush that
   * started before (and so may have passed the fence under an older owner) has ended;
   * a flush still running after flushWaitMs is killed. Afterwards storedOffsets is final.
   */
  async takeOwnership(topic: string, partition: number, gen: number, owner: string): Promise<void> {
    await this.client.insert({
      table: 'lt_partition_owners',
      values: [{ topic, kafka_partition: partition, gen, owner }],
      format: 'JSONEachRow',
      // On a replicated cluster the fence must be on a quorum before anyone relies on it.
      clickhouse_settings: { insert_quorum: 'auto' },
    });
    const fencedAt = performance.now();
    await this.waitForFlushes(fencedAt, undefined);
  }

  /** The highest owner generation ClickHouse has recorded for the partition (0: none). */
  async ownerGeneration(topic: string, partition: number): Promise<number> {
    const rs = await this.client.query({
      query:
        'SELECT max(gen) AS gen FROM lt_partition_owners WHERE topic = {topic:String} AND kafka_partition = {partition:UInt16}',
      query_params: { topic, partition },
      format: 'JSONEachRow',
    });
    return Number((await rs.json<{ gen: string }>())[0]?.gen ?? 0);
  }

  /** Offsets of the partition stored after `after` ("-1": all). */
  async storedOffsets(topic: string, partition: number, after: string): Promise<Set<string>> {
    const rs = await this.client.query({
      query: `SELECT toString(kafka_offset) AS o FROM lt_events
        WHERE topic = {topic:String} AND kafka_partition = {partition:UInt16} AND kafka_offset > {after:Int64}`,
      query_params: { topic, partition, after: BigInt(after) },
      format: 'JSONCompactEachRow',
    });
    return new Set((await rs.json<[string]>()).map(([o]) => o));
  }

  /**
   * Inserts rows of any partitions: one insert per calendar month of the events (a
   * month is one part of lt_events, written atomically), so a partition's stored rows
   * never have holes below its highest stored offset beyond what a month boundary
   * splits. A failure may leave some months stored (or still running): the caller then
   * calls settle(flushId) and storedOffsets before writing again, never a blind retry.
   */
  async insert(rows: readonly FencedRow[], flushId: string): Promise<void> {
    if (rows.length === 0) return;
    // lt_events is partitioned by month: one insert per month is one part, stored whole or not at all.
    for (const monthRows of byMonth(rows)) await this.insertPart(monthRows, flushId);
  }

  private async insertPart(rows: readonly FencedRow[], flushId: string): Promise<void> {
    const started = performance.now();
    const clickhouse_settings = { log_comment: `${FLUSH_COMMENT}${flushId}` };
    const tsv = encodeRowsTsv(
      rows.map((r) => r.row),
      (i) => String(rows[i]!.ownerGen),
    );
    if (tsv !== null) {
      const values = Readable.from([Buffer.from(tsv)], { objectMode: false });
      await this.client.insert({
        table: 'lt_events_ingest',
        columns: FENCED_COLUMNS,
        values,
        format: 'TabSeparated',
        clickhouse_settings,
      });
    } else {
      const values = rows.map(({ row, ownerGen }) => ({ ...row, owner_gen: ownerGen }));
      await this.client.insert({ table: 'lt_events_ingest', values, format: 'JSONEachRow', clickhouse_settings });
    }
    this.observer.onInsert?.(performance.now() - started, rows.length);
  }

  /** Waits until the named flush no longer runs (after a failure whose outcome is unknown). */
  async settle(flushId: string): Promise<void> {
    await this.waitForFlushes(performance.now(), `${FLUSH_COMMENT}${flushId}`);
  }

  private async waitForFlushes(since: number, comment: string | undefined): Promise<void> {
    const deadline = performance.now() + this.flushWaitMs;
    const condition = comment
      ? `Settings['log_comment'] = {comment:String}`
      : `startsWith(Settings['log_comment'], {prefix:String}) AND elapsed >= {age:Float64}`;
    for (;;) {
      // Flushes that started up to half a second after `since` count too: a little
      // longer waiting, never a flush missed through timing.
      const age = Math.max(0, (performance.now() - since) / 1000 - 0.5);
      const params = { comment: comment ?? '', prefix: FLUSH_COMMENT, age };
      const rs = await this.client.query({
        query: `SELECT count() AS n FROM system.processes WHERE ${condition}`,
        query_params: params,
        format: 'JSONEachRow',
      });
      const [{ n }] = (await rs.json<{ n: string }>()) as [{ n: string }];
      if (Number(n) === 0) return;
      if (performance.now() > deadline) {
        await this.client.command({ query: `KILL QUERY WHERE ${condition} SYNC`, query_params: params });
        return;
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}

const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** Rows grouped by the Asia/Shanghai calendar month of their event time (lt_events' partition key). */
function byMonth(rows: readonly FencedRow[]): FencedRow[][] {
  const groups = new Map<number, FencedRow[]>();
  for (const r of rows) {
    const d = new Date(r.row.ts + SHANGHAI_OFFSET_MS);
    const month = d.getUTCFullYear() * 12 + d.getUTCMonth();
    let group = groups.get(month);
    if (!group) groups.set(month, (group = []));
    group.push(r);
  }
  return [...groups.values()];
}
