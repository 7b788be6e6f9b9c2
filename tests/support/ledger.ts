import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { MEASURE_SELECT, SCOPE_COLUMN_KINDS, scopeColumn } from '@livetally/history';
import type { Totals } from '@livetally/live-state';
import type { DatasetMessage } from '../../services/simulator/src/dataset';
import { allOffsets, readTopic } from './kafka';

/**
 * Proves nothing was lost or doubled: every offset on the topic ends as exactly one
 * ClickHouse row, one dead letter (copies of the same dead letter allowed: the DLQ is
 * at least once) or one dropped platform resend.
 */
export async function checkLedger(opts: {
  kafka: Kafka;
  ch: ClickHouseClient;
  database: string;
  topic: string;
  dlqTopic: string;
  data: DatasetMessage[];
}) {
  const { kafka, ch, database, topic, dlqTopic, data } = opts;
  const count = (kind: DatasetMessage['kind']) => data.filter((m) => m.kind === kind).length;
  const rs = await ch.query({
    query: `SELECT kafka_partition AS p, toString(kafka_offset) AS o FROM ${database}.lt_events WHERE topic = {topic:String}`,
    query_params: { topic },
    format: 'JSONEachRow',
  });
  const stored = (await rs.json<{ p: number; o: string }>()).map((r) => `${r.p}@${r.o}`);
  const storedSet = new Set(stored);
  const letters = await readTopic(kafka, dlqTopic, count('malformed'), 30_000);
  const lettered = new Set(letters.map((l) => `${l.headers['lt-partition']}@${l.headers['lt-offset']}`));
  const onTopic = await allOffsets(kafka, topic);
  return {
    storedRows: stored.length,
    distinctStored: storedSet.size,
    deadLetters: lettered.size,
    overlap: [...lettered].filter((o) => storedSet.has(o)).length,
    unknown: [...storedSet, ...lettered].filter((o) => !onTopic.has(o)).length,
    dropped: onTopic.size - storedSet.size - lettered.size,
    expected: {
      stored: count('valid'),
      deadLetters: count('malformed'),
      dropped: count('duplicate'),
      offsets: data.length,
    },
    offsetsOnTopic: onTopic.size,
  };
}

/** ClickHouse's totals for every scope of one topic, computed with GROUP BY per scope kind. */
export async function clickhouseTotals(
  ch: ClickHouseClient,
  database: string,
  topic: string,
): Promise<Map<string, Totals>> {
  const out = new Map<string, Totals>();
  const measures = MEASURE_SELECT;
  const queries: [string, string][] = [
    ['all', `SELECT 'all' AS scope, ${measures} FROM ${database}.lt_events WHERE topic = {topic:String}`],
  ];
  for (const kind of SCOPE_COLUMN_KINDS) {
    const column = scopeColumn(kind)!;
    queries.push([
      kind,
      `SELECT concat('${kind}:', ${column}) AS scope, ${measures} FROM ${database}.lt_events WHERE topic = {topic:String} GROUP BY ${column}`,
    ]);
  }
  for (const [, query] of queries) {
    const rs = await ch.query({ query, query_params: { topic }, format: 'JSONEachRow' });
    for (const row of await rs.json<Record<string, string>>()) {
      const { scope, ...rest } = row;
      out.set(scope!, Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, Number(v)])) as unknown as Totals);
    }
  }
  return out;
}
