import type { Message, PartitionerArgs, ProducerRecord, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { completeSends } from './complete-send';

/** Partitions by the key's first character (a → 0, b → 1, …). */
const byKey = () => (args: PartitionerArgs) => String(args.message.key).charCodeAt(0) - 97;
const message = (key: string, value: string): Message => ({ key, value });

/**
 * A producer that partitions like kafkajs (the partitioner sees every message of every
 * send) and acknowledges the partitions `answer` lets through on each call.
 */
function producerAnswering(
  sends: ReturnType<typeof completeSends>,
  answer: (call: number, partition: number) => boolean,
) {
  const partition = sends.createPartitioner();
  const calls: string[][] = [];
  return {
    calls,
    async send(record: ProducerRecord): Promise<RecordMetadata[]> {
      const call = calls.push(record.messages.map((m) => String(m.value)));
      const partitions = new Set(
        record.messages.map((m) => partition({ topic: record.topic, partitionMetadata: [], message: m })),
      );
      return [...partitions]
        .filter((p) => answer(call, p))
        .map((p) => ({ topicName: record.topic, partition: p, errorCode: 0 }));
    },
  };
}

describe('completeSends', () => {
  const record = {
    topic: 't',
    messages: [message('a', 'a1'), message('b', 'b1'), message('a', 'a2'), message('c', 'c1')],
  };

  it('sends once when every partition is acknowledged', async () => {
    const sends = completeSends(byKey);
    const producer = producerAnswering(sends, () => true);
    await sends.send(producer, record);
    expect(producer.calls).toEqual([['a1', 'b1', 'a2', 'c1']]);
  });

  it('sends again, in order, the messages of the partitions a send left unacknowledged', async () => {
    const sends = completeSends(byKey);
    const producer = producerAnswering(sends, (call, p) => call > 1 || p === 1);
    const acknowledged = await sends.send(producer, record);
    expect(producer.calls).toEqual([
      ['a1', 'b1', 'a2', 'c1'],
      ['a1', 'a2', 'c1'],
    ]);
    expect(acknowledged.map((r) => r.partition).sort()).toEqual([0, 1, 2]);
  });

  it('tells its observer what each send left unacknowledged before sending it again', async () => {
    const resends: unknown[] = [];
    const sends = completeSends(byKey, { onResend: (info) => resends.push(info) });
    const producer = producerAnswering(sends, (call, p) => call > 2 || p === 1);
    await sends.send(producer, record);
    expect(resends).toEqual([
      { topic: 't', round: 1, messages: 3, partitions: [0, 2] },
      { topic: 't', round: 2, messages: 3, partitions: [0, 2] },
    ]);
  });

  it('gives up with a retriable error when partitions stay unacknowledged', async () => {
    const sends = completeSends(byKey);
    const producer = producerAnswering(sends, (_, p) => p !== 2);
    await expect(sends.send(producer, record)).rejects.toMatchObject({
      message: 'Kafka did not acknowledge 1 of the records after 10 sends',
      retriable: true,
    });
    expect(producer.calls).toHaveLength(10);
  });
});
