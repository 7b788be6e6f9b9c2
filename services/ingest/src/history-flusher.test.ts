import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { FencedRow } from '@livetally/history';
import { HistoryFlusher, type PendingBatch } from './history-flusher';

const logger = pino({ level: 'silent' });

function batch(partition: number, lastOffset: string): PendingBatch {
  const row = { kafka_partition: partition, kafka_offset: lastOffset } as unknown as FencedRow['row'];
  return { partition, gen: 1, lastOffset, rows: [{ row } as FencedRow] };
}

/** A flusher whose inserts succeed and whose durable marks fail `failures` times first. */
function flusherWithFailingMarks(failures: number) {
  const marked: Array<[number, string]> = [];
  let attempts = 0;
  const flusher = new HistoryFlusher(
    {
      writer: {
        insert: async () => undefined,
        settle: async () => undefined,
        storedOffsets: async () => new Set<string>(),
      },
      topic: 't',
      async onDurable(partition, _gen, offset) {
        attempts++;
        if (attempts <= failures) throw new Error('CLUSTERDOWN The cluster is down');
        marked.push([partition, offset]);
      },
      logger,
    },
    { maxRows: 1, maxWaitMs: 10, maxBufferedRows: 100, retryMaxMs: 50 },
  );
  return { flusher, marked, attempts: () => attempts };
}

describe('HistoryFlusher durable marks', () => {
  it('records a durable offset that failed to record once Redis answers again, with no later batch', async () => {
    // A Redis failover at the end of a stream: the partition's last flush cannot be marked,
    // and nothing more arrives to mark a later offset.
    const { flusher, marked } = flusherWithFailingMarks(3);
    flusher.add(batch(4, '4101'));
    await vi.waitFor(() => expect(marked).toEqual([[4, '4101']]), { timeout: 5_000 });
    flusher.stop();
  });

  it('marks only the newest offset a partition owes, once', async () => {
    const { flusher, marked } = flusherWithFailingMarks(1);
    flusher.add(batch(2, '10'));
    await vi.waitFor(() => expect(marked.length).toBeGreaterThan(0), { timeout: 5_000 });
    flusher.add(batch(2, '20'));
    await vi.waitFor(() => expect(marked.at(-1)).toEqual([2, '20']), { timeout: 5_000 });
    expect(marked.filter(([, offset]) => offset === '10').length).toBeLessThanOrEqual(1);
    flusher.stop();
  });

  it('stops retrying once stopped, and drain makes one last attempt', async () => {
    const { flusher, marked, attempts } = flusherWithFailingMarks(1_000);
    flusher.add(batch(1, '7'));
    await vi.waitFor(() => expect(attempts()).toBeGreaterThan(0), { timeout: 5_000 });
    flusher.stop();
    const before = attempts();
    await flusher.drain();
    expect(attempts()).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts()).toBe(before + 1);
    expect(marked).toEqual([]);
  });
});
