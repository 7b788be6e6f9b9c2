import { describe, expect, it } from 'vitest';
import { letterRecord, parkedRecord, KEPT_ORIGINAL_BYTES } from '../dead-letter-records';
import { readLetter, type Letter } from './letter';
import { asRead, deadLetter } from './testing';
import { decodeEntry, defaultLedgerTopic, encodeEntry, type LedgerEntry } from './replay-ledger';
import { originalId, planReplay } from './replay-plan';

const AT = '2024-09-01T10:00:00.000Z';

/** The letter at DLQ offset `at` of the original at events offset `original`. */
function letter(at: number, original: number, value = Buffer.from('{"v":1}')): Letter {
  return readLetter('dlq', asRead(letterRecord(deadLetter(original, value), 0, AT), at))!;
}

function entry(state: LedgerEntry['state'], of: Letter): LedgerEntry {
  return {
    state,
    letter: `dlq:0:${of.at.offset}`,
    target: { topic: 'livetally.events', partition: 4 },
    from: '100',
    ...(state === 'replayed' ? { offset: '100' } : {}),
    at: AT,
  };
}

describe('planReplay', () => {
  it('replays whole originals of the workers’ topic', () => {
    const letters = [letter(0, 10), letter(1, 11)];
    expect(planReplay(letters, new Map(), 'livetally.events').map((v) => v.kind)).toEqual(['replay', 'replay']);
  });

  it('never replays an original the ledger holds a copy of, whichever letter it was made from', () => {
    const first = letter(0, 10);
    const again = letter(7, 10); // a second letter of the same original (the DLQ is at least once)
    const ledger = new Map([[originalId(first), entry('replayed', first)]]);
    expect(planReplay([first, again], ledger, 'livetally.events').map((v) => v.kind)).toEqual([
      'already-replayed',
      'already-replayed',
    ]);
  });

  it('replays one letter per original when the selection holds several', () => {
    const verdicts = planReplay([letter(0, 10), letter(7, 10)], new Map(), 'livetally.events');
    expect(verdicts.map((v) => v.kind)).toEqual(['replay', 'same-original']);
    expect(verdicts[1]).toMatchObject({ as: 'dlq:0:0' });
  });

  it('asks for a search of the events topic where a replay was interrupted', () => {
    const l = letter(0, 10);
    const verdicts = planReplay([l], new Map([[originalId(l), entry('pending', l)]]), 'livetally.events');
    expect(verdicts.map((v) => v.kind)).toEqual(['pending']);
  });

  it('refuses cut and parked letters and letters of another topic, saying why', () => {
    const cut = letter(0, 10, Buffer.alloc(KEPT_ORIGINAL_BYTES + 1, 'x'));
    const parked = readLetter(
      'dlq',
      asRead(parkedRecord(deadLetter(11, Buffer.from('x')), 0, AT, 'refused as too large'), 1),
    )!;
    const foreign = readLetter(
      'dlq',
      asRead(letterRecord(deadLetter(12, Buffer.from('{}'), { topic: 'other' }), 0, AT), 2),
    )!;
    const verdicts = planReplay([cut, parked, foreign], new Map(), 'livetally.events');
    expect(verdicts.map((v) => v.kind)).toEqual(['refused', 'refused', 'refused']);
    const whys = verdicts.map((v) => (v.kind === 'refused' ? v.why : ''));
    expect(whys[0]).toMatch(/cannot be replayed: the letter holds only the first/);
    expect(whys[1]).toMatch(/cannot be replayed: the letter was parked/);
    expect(whys[2]).toMatch(/dead-lettered from other, not from KAFKA_TOPIC livetally.events/);
  });

  it('keys originals by their position on the events topic', () => {
    expect(originalId(letter(3, 42))).toBe('livetally.events:4:42');
  });
});

describe('ledger entries', () => {
  it('read back what was written, and nothing that is not an entry', () => {
    const e = entry('replayed', letter(0, 10));
    expect(decodeEntry(encodeEntry(e))).toEqual(e);
    for (const bad of [null, Buffer.alloc(0), Buffer.from('{'), Buffer.from('{"state":"done"}')])
      expect(decodeEntry(bad)).toBeNull();
  });

  it('live beside the dead-letter topic by default', () => {
    expect(defaultLedgerTopic('livetally.events.dlq')).toBe('livetally.events.dlq.replayed');
  });
});
