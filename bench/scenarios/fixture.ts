import { buildDataset } from '../../services/simulator/src/dataset';
import type { BenchContext, Fixture } from '../lib/context';
import { createTopics, deleteTopicsAndGroups, produceAll, topicSize } from '../lib/kafka';
import { fmtInt } from '../lib/log';
import { uniqueName } from '../lib/stack';

/**
 * The pre-produced topic the throughput scenarios read: N events of the simulator's
 * seeded data set (realistic Shenzhen-like streams, no malformed events, no resends),
 * event times over the last hour, 12 partitions as in production.
 */
export async function produceFixture(ctx: BenchContext, log: (m: string) => void): Promise<Fixture> {
  const { fixtureEvents: count, fixturePartitions: partitions } = ctx.opts.sizes;
  const topic = `lt.${uniqueName('bench_fixture')}`;
  const dlqTopic = `${topic}.dlq`;
  ctx.onCleanup(() => deleteTopicsAndGroups(ctx.kafka, [topic, dlqTopic], []));
  log(`building ${fmtInt(count)} seeded events`);
  const now = Date.now();
  const data = buildDataset({ seed: 42, count, startTs: now - 3_600_000, spanMs: 3_600_000 });
  let bytes = 0;
  let views = 0;
  let orders = 0;
  for (const m of data) {
    bytes += m.value.length;
    if (m.event?.type === 'view') views++;
    if (m.event?.type === 'sale') orders++;
  }
  await createTopics(ctx.kafka, [
    { topic, numPartitions: partitions },
    { topic: dlqTopic, numPartitions: 1 },
  ]);
  const producer = ctx.kafka.producer();
  await producer.connect();
  const started = performance.now();
  try {
    await produceAll(
      producer,
      topic,
      data.map((m) => ({ key: m.key, value: m.value })),
      (sent) => log(`produced ${fmtInt(sent)}/${fmtInt(count)}`),
    );
  } finally {
    await producer.disconnect();
  }
  const onTopic = await topicSize(ctx.kafka, topic);
  if (onTopic !== count) throw new Error(`fixture topic holds ${onTopic} messages, expected ${count}`);
  const seconds = (performance.now() - started) / 1000;
  log(
    `topic ${topic}: ${fmtInt(count)} events, ${partitions} partitions, mean ${(bytes / count).toFixed(1)} B/event, produced in ${seconds.toFixed(1)} s`,
  );
  return {
    topic,
    dlqTopic,
    partitions,
    events: count,
    meanEncodedBytes: bytes / count,
    expectedViews: views,
    expectedOrders: orders,
  };
}
