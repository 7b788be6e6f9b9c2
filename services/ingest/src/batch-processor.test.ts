import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ApplyBatchInput, ApplyOutcome } from '@livetally/live-state';
import { LIMITS } from '@livetally/events';
import { nextOffset, offsetAfter, processPartitionBatch, type BatchDeps, type OwnedPartition } from './batch-processor';

const NOW = Date.UTC(2024, 8, 1);
const event = (eventId: string, extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      v: 1,
      type: 'view',
      eventId,
      platform: 'douyin',
      streamId: 's1',
      hostId: 'h1',
      ts: NOW - 1000,
      city: 'Shenzhen',
      district: 'Luohu',
      category: 'jewellery',
      viewerId: `v-${eventId}`,
      ...extra,
    }),
  );

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

  it('names the offset after one, from nothing yet ("-1") to 64-bit sizes', () => {
    expect([nextOffset('-1'), nextOffset('9'), nextOffset('9007199254740992')]).toEqual([
      '0',
      '10',
      '9007199254740993',
    ]);
  });
});

describe('processPartitionBatch', () => {
  function deps(outcome: ApplyOutcome = { applied: true }) {
    const order: string[] = [];
    const applies: ApplyBatchInput[] = [];
    const letters: string[] = [];
    const d: BatchDeps = {
      counters: {
        async applyBatch(input) {
          order.push('apply');
          applies.push(input);
          return outcome;
        },
      },
      duplicates: { claim: async (inputs) => inputs.map((i) => i.eventId !== 'dup') },
      deadLetters: {
        async publish(ls) {
          order.push('dead letters');
          letters.push(...ls.map((l) => l.offset));
        },
      },
      now: () => NOW,
      logger: pino({ level: 'silent' }),
    };
    return { d, order, applies, letters };
  }
  const owned = (applied: string, durable: string, stored: string[] = []): OwnedPartition => ({
    topic: 't',
    partition: 3,
    gen: 7,
    applied,
    durable,
    storedAfterDurable: new Set(stored),
    queued: durable,
    positioned: true,
  });
  const at = (offset: string, value: Buffer | null, timestamp = NOW) => ({
    offset,
    timestamp: String(timestamp),
    key: null,
    value,
  });

  it('applies to Redis what it has not seen, fenced by the owner generation, and hands back the rows ClickHouse lacks', async () => {
    const { d, order, applies, letters } = deps();
    const state = owned('12', '10', ['11']);
    const outcome = await processPartitionBatch(d, state, {
      topic: 't',
      partition: 3,
      messages: [
        at('9', event('durable')),
        at('11', event('stored')),
        at('12', event('in-redis')),
        at('13', Buffer.from('{not json')),
        at('14', event('dup')),
        at('15', event('b')),
      ],
    });
    expect(outcome).toMatchObject({ kind: 'processed', lastOffset: '15', counted: 1, duplicates: 1, deadLettered: 1 });
    expect(outcome.kind === 'processed' && outcome.rows.map((r) => [r.row.kafka_offset, r.ownerGen])).toEqual([
      ['12', 7],
      ['15', 7],
    ]);
    expect(order).toEqual(['dead letters', 'apply']);
    expect(letters).toEqual(['13']);
    expect(applies[0]).toMatchObject({ ownerGen: 7, expectedOffset: '12', newOffset: '15' });
    expect(applies[0]!.deltas.get('all')).toEqual({ views: 1 });
    expect(state.applied).toBe('15');
  });

  it('judges the future bound against the record timestamp, so every attempt decides the same whatever the clock', async () => {
    const ts = NOW + LIMITS.maxFutureSkewMs + 1_000;
    const messages = [at('0', event('early', { ts })), at('1', event('on-time', { ts }), NOW + 2_000)];
    for (const clock of [NOW, NOW + 60_000]) {
      const { d, letters } = deps();
      d.now = () => clock;
      const outcome = await processPartitionBatch(d, owned('-1', '-1'), { topic: 't', partition: 3, messages });
      expect(letters).toEqual(['0']);
      expect(outcome).toMatchObject({ kind: 'processed', counted: 1, deadLettered: 1 });
    }
  });

  it('skips what both stores hold, and defers a batch whose partition another owner took', async () => {
    expect(
      await processPartitionBatch(deps().d, owned('20', '20'), {
        topic: 't',
        partition: 3,
        messages: [at('19', event('a')), at('20', event('b'))],
      }),
    ).toEqual({
      kind: 'skipped',
      lastOffset: '20',
      reason: 'already-stored',
    });
    const stale = deps({ applied: false, staleOwner: true });
    const state = owned('4', '4');
    expect(
      await processPartitionBatch(stale.d, state, { topic: 't', partition: 3, messages: [at('5', event('a'))] }),
    ).toEqual({ kind: 'deferred', reason: 'lost-ownership' });
    expect(state.applied).toBe('4');
  });

  it('claims resends fenced by the owner generation and applied offset, and defers the batch with nothing written when refused', async () => {
    const { d, order, letters } = deps();
    const fences: unknown[] = [];
    d.duplicates = {
      async claim(_inputs, fence) {
        fences.push(fence);
        return null;
      },
    };
    const outcome = await processPartitionBatch(d, owned('4', '4'), {
      topic: 't',
      partition: 3,
      messages: [at('5', event('a')), at('6', Buffer.from('{not json'))],
    });
    expect(outcome).toEqual({ kind: 'deferred', reason: 'lost-ownership' });
    expect(fences).toEqual([{ topic: 't', partition: 3, ownerGen: 7, expectedOffset: '4' }]);
    expect(order).toEqual([]);
    expect(letters).toEqual([]);
  });
});
