import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ApplyBatchInput } from '@livetally/counters';
import { offsetAfter, processPartitionBatch, type BatchDeps } from './batch-processor';

const NOW = Date.UTC(2024, 8, 1);
const event = (eventId: string, extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ v: 1, type: 'view', eventId, platform: 'douyin', streamId: 's1', hostId: 'h1', ts: NOW - 1000, city: 'Shenzhen', district: 'Luohu', category: 'jewellery', viewerId: `v-${eventId}`, ...extra }));

describe('offsetAfter', () => {
  it('orders Kafka offsets exactly, at any size', () => {
    expect(offsetAfter('0', '-1')).toBe(true);
    expect(offsetAfter('-1', '-1')).toBe(false);
    expect(offsetAfter('-1', '0')).toBe(false);
    expect(offsetAfter('10', '9')).toBe(true);
    expect(offsetAfter('9', '10')).toBe(false);
    expect(offsetAfter('10', '10')).toBe(false);
    expect(offsetAfter('9007199254740993', '9007199254740992')).toBe(true);
    expect(offsetAfter('18446744073709551615', '9999999999999999999')).toBe(true);
  });
});

describe('processPartitionBatch', () => {
  function deps(applied = '-1') {
    const order: string[] = [];
    let resolveInsert!: () => void;
    const inserted: { rows: number; token: string }[] = [];
    const applies: ApplyBatchInput[] = [];
    const d: BatchDeps = {
      counters: {
        appliedOffset: async () => applied,
        claimRange: async (_t, _p, first, last) => ({ first, last }),
        async applyBatch(input) {
          order.push('apply');
          applies.push(input);
          return { applied: true };
        },
      },
      duplicates: { claim: async (inputs) => inputs.map((i) => i.eventId !== 'dup') },
      history: {
        insertEvents: (rows, token) =>
          new Promise<void>((resolve) => {
            order.push('insert started');
            inserted.push({ rows: rows.length, token });
            resolveInsert = () => {
              order.push('insert done');
              resolve();
            };
          }),
      },
      deadLetters: { publish: async () => void order.push('dead letters') },
      now: () => NOW,
      logger: pino({ level: 'silent' }),
    };
    return { d, order, inserted, applies, finishInsert: () => resolveInsert() };
  }

  it('writes Redis only after ClickHouse holds the rows, and skips what is applied', async () => {
    const { d, order, inserted, applies, finishInsert } = deps('10');
    const messages = [
      { offset: '9', key: null, value: event('old') },
      { offset: '11', key: null, value: event('a') },
      { offset: '12', key: null, value: Buffer.from('{not json') },
      { offset: '13', key: null, value: event('dup') },
      { offset: '14', key: null, value: event('b') },
    ];
    const outcome = processPartitionBatch(d, { topic: 't', partition: 3, messages });
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['dead letters', 'insert started']);
    finishInsert();
    expect(await outcome).toEqual({ kind: 'processed', lastOffset: '14', counted: 2, duplicates: 1, deadLettered: 1 });
    expect(order).toEqual(['dead letters', 'insert started', 'insert done', 'apply']);
    expect(inserted).toEqual([{ rows: 2, token: 't:3:11-14' }]);
    expect(applies[0]).toMatchObject({ expectedOffset: '10', newOffset: '14' });
    expect(applies[0]!.deltas.get('all')).toEqual({ views: 2 });
  });
});
