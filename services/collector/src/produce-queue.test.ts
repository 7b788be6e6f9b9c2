import { describe, expect, it } from 'vitest';
import { ProduceQueue, type ProduceCall } from './produce-queue';
import { RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from './record-limits';

const msg = (key: string) => ({ key, value: Buffer.from(`{"k":"${key}"}`) });
const ONE = recordBytes(msg('a1')); // every key here has two letters
/** Room for `n` one-letter-key records in a call. */
const room = (n: number) => RECORD_BATCH_OVERHEAD_BYTES + n * ONE;
const keys = (call: ProduceCall | undefined) => call?.messages.map((m) => m.key);

/** A queue and the outcome of each request added to it. */
function queue(maxProduceBytes: number) {
  const q = new ProduceQueue(maxProduceBytes);
  const outcomes = new Map<string, string>();
  const add = (name: string, ...names: string[]) =>
    q.add(names.map(msg), (err) => outcomes.set(name, err ? err.message : 'ok'));
  return { q, outcomes, add };
}

describe('ProduceQueue', () => {
  it('fills calls in arrival order up to the byte bound, splitting a request that does not fit', () => {
    const { q, outcomes, add } = queue(room(3));
    add('A', 'a1', 'a2');
    add('B', 'b1', 'b2', 'b3');
    add('C', 'c1');
    const first = q.next()!;
    expect(keys(first)).toEqual(['a1', 'a2', 'b1']);
    expect(first.bytes).toBe(room(3));
    q.acknowledged(first);
    expect(outcomes).toEqual(new Map([['A', 'ok']])); // B waits for the rest of its records
    const second = q.next()!;
    expect(keys(second)).toEqual(['b2', 'b3', 'c1']);
    q.acknowledged(second);
    expect(outcomes).toEqual(
      new Map([
        ['A', 'ok'],
        ['B', 'ok'],
        ['C', 'ok'],
      ]),
    );
    expect(q.next()).toBeUndefined();
    expect(q.isEmpty).toBe(true);
  });

  it('puts a record larger than the bound in a call of its own rather than stalling', () => {
    const { q, add } = queue(RECORD_BATCH_OVERHEAD_BYTES + 1);
    add('A', 'a1', 'a2');
    expect(keys(q.next())).toEqual(['a1']);
    expect(keys(q.next())).toEqual(['a2']);
  });

  it('fails every request of a failed call and sends none of their other records', () => {
    const { q, outcomes, add } = queue(room(2));
    add('A', 'a1');
    add('B', 'b1', 'b2', 'b3');
    add('C', 'c1');
    q.fail(q.next()!, new Error('NOT_ENOUGH_REPLICAS'));
    expect(outcomes).toEqual(
      new Map([
        ['A', 'NOT_ENOUGH_REPLICAS'],
        ['B', 'NOT_ENOUGH_REPLICAS'],
      ]),
    );
    expect(keys(q.next())).toEqual(['c1']);
  });

  it('isolates a refused call: each request goes again alone, before anything else', () => {
    const { q, outcomes, add } = queue(room(4));
    add('A', 'a1');
    add('B', 'b1', 'b2');
    add('C', 'c1', 'c2');
    const refused = q.next()!;
    expect(keys(refused)).toEqual(['a1', 'b1', 'b2', 'c1']);
    expect(q.isolate(refused)).toBe(true);
    const alone = [q.next()!, q.next()!, q.next()!];
    expect(alone.map(keys)).toEqual([['a1'], ['b1', 'b2'], ['c1']]);
    q.acknowledged(alone[0]!);
    q.fail(alone[1]!, new Error('too large'));
    q.acknowledged(alone[2]!);
    expect(keys(q.next())).toEqual(['c2']);
    expect(outcomes).toEqual(
      new Map([
        ['A', 'ok'],
        ['B', 'too large'],
      ]),
    );
  });

  it('does not isolate a call that held one request', () => {
    const { q, add } = queue(room(4));
    add('A', 'a1', 'a2');
    expect(q.isolate(q.next()!)).toBe(false);
  });

  it('drops the unsent records of a cancelled request, and settles it once its call in flight comes back', () => {
    const { q, outcomes, add } = queue(room(2));
    add('A', 'a1');
    const cancelB = add('B', 'b1', 'b2', 'b3');
    const call = q.next()!;
    expect(keys(call)).toEqual(['a1', 'b1']);
    cancelB();
    expect(outcomes.has('B')).toBe(false); // b1 is with the producer
    q.acknowledged(call);
    expect(outcomes.get('B')).toMatch(/dropped before sending/);
    expect(q.next()).toBeUndefined();
    const cancelC = add('C', 'c1');
    cancelC();
    expect(outcomes.get('C')).toMatch(/dropped before sending/);
    expect(q.isEmpty).toBe(true);
  });
});
