import { describe, expect, it } from 'vitest';
import { KEPT_ORIGINAL_BYTES, letterRecord } from '../dead-letter-records';
import { formatList, formatReplay, letterJson, preview } from './format';
import { readLetter, type Letter } from './letter';
import { EarliestLetters, byFailure, type LetterScan } from './letter-reader';
import { originalId } from './replay-plan';
import { LETTER_FAILED_AT, asRead, deadLetter } from './testing';

function letter(at: number, original: number, value: Buffer, failedAt = LETTER_FAILED_AT): Letter {
  return readLetter('dlq', asRead(letterRecord(deadLetter(original, value), at % 2, failedAt), at))!;
}

describe('preview', () => {
  it('shows text on one line with control characters escaped, cut at the bound', () => {
    expect(preview(Buffer.from('{"a":"x\ny\tz\u0001"}'))).toBe('{"a":"x\\ny\\tz\\u0001"}');
    expect(preview(Buffer.from('x'.repeat(200)), 10)).toBe(`${'x'.repeat(10)}…`);
    expect(preview(Buffer.alloc(0))).toBe('(empty)');
  });

  it('shows bytes that are not UTF-8 in hex', () => {
    expect(preview(Buffer.from([0xff, 0xfe, 0x41]))).toBe('hex fffe41 (not UTF-8)');
    expect(preview(Buffer.alloc(100, 0xff))).toMatch(/^hex (ff){48}… \(not UTF-8\)$/);
  });
});

describe('letterJson', () => {
  it('carries the whole value and key, as base64 and as text', () => {
    const value = Buffer.from('{"v":1,"type":"view"}');
    const json = letterJson(letter(3, 9, value));
    expect(json).toMatchObject({
      letter: { topic: 'dlq', partition: 1, offset: '3' },
      failedAt: LETTER_FAILED_AT,
      reason: 'out_of_range',
      original: { topic: 'livetally.events', partition: 4, offset: '9' },
      value: { kind: 'original', bytes: value.length, base64: value.toString('base64'), text: value.toString() },
      key: { text: 'stream-1' },
    });
    expect(json).not.toHaveProperty('replayed');
  });

  it('gives no text for bytes that are not UTF-8', () => {
    expect(letterJson(letter(0, 1, Buffer.from([0xff]))).value).toMatchObject({ base64: '/w==', text: null });
  });
});

describe('formatList', () => {
  it('counts letters per reason, then shows each with its errors, original and whether it was replayed', () => {
    const a = letter(0, 10, Buffer.from('{"ts":1}'));
    const cut = letter(1, 11, Buffer.alloc(KEPT_ORIGINAL_BYTES + 5, 'y'));
    const scan: LetterScan = {
      topic: 'dlq',
      letters: [a, cut],
      matched: 3,
      byReason: [
        {
          reason: 'out_of_range',
          letters: 3,
          firstFailedAt: Date.parse(LETTER_FAILED_AT),
          lastFailedAt: Date.parse(LETTER_FAILED_AT),
        },
      ],
      scanned: 4,
      foreign: 1,
      unfinished: [],
    };
    const ledger = new Map([
      [
        originalId(a),
        {
          state: 'replayed' as const,
          letter: 'dlq:0:0',
          target: { topic: 'livetally.events', partition: 4 },
          from: '50',
          offset: '57',
          at: LETTER_FAILED_AT,
        },
      ],
    ]);
    const text = formatList(scan, ledger, originalId);
    expect(text).toContain('dlq: 3 letter(s) match of 4 record(s) read (1 not LiveTally letters)');
    expect(text).toMatch(/out_of_range\s+3\s+2024-09-01T10:00:00.000Z/);
    expect(text).toContain('the 2 earliest (--limit)');
    expect(text).toMatch(
      /0@0\s+2024-09-01T10:00:00.000Z\s+out_of_range\s+validate\s+livetally.events 4@10\s+original 8 B\s+4@57/,
    );
    expect(text).toMatch(new RegExp(`1@1 .*truncated ${KEPT_ORIGINAL_BYTES}/${KEPT_ORIGINAL_BYTES + 5} B\\s+-`));
    expect(text).toContain('    errors: ts: ts must be between …');
    expect(text).toContain('    value:  {"ts":1}');
  });

  it('says when the topic was not read to its end', () => {
    const scan: LetterScan = {
      topic: 'dlq',
      letters: [],
      matched: 0,
      byReason: [],
      scanned: 0,
      foreign: 0,
      unfinished: [{ partition: 2, from: '5', to: '90' }],
    };
    expect(formatList(scan, new Map(), originalId)).toContain(
      'INCOMPLETE: not read to the end within --timeout: partition 2 from 5 to 90',
    );
  });
});

describe('formatReplay', () => {
  it('names a dry run as such, and every letter skipped or refused with why', () => {
    const l = letter(0, 10, Buffer.from('{}'));
    const text = formatReplay({
      applied: false,
      replayed: [{ letter: l, copy: null }],
      recovered: [],
      alreadyReplayed: [],
      sameOriginal: [{ letter: letter(2, 10, Buffer.from('{}')), as: 'dlq:0:0' }],
      counted: [
        { letter: letter(3, 12, Buffer.from('{}')), stored: { topic: 'livetally.events', partition: 4, offset: '99' } },
      ],
      refused: [{ letter: letter(1, 11, Buffer.from('{}')), why: 'cannot be replayed: …' }],
    });
    expect(text).toContain('would replay (dry run: add --yes to send): 1');
    expect(text).toContain('skipped, another letter of the same original is replayed: 1');
    expect(text).toContain(
      'skipped, the event is already counted (stored from another copy): 1\n  1@3  original 4@12, stored from livetally.events 4@99',
    );
    expect(text).toContain('refused: 1\n  1@1  out_of_range: cannot be replayed: …');
  });
});

describe('EarliestLetters', () => {
  it('keeps the earliest failed letters of any stream, in order, in bounded memory', () => {
    const base = Date.parse(LETTER_FAILED_AT);
    const keep = new EarliestLetters(3);
    const times = [9, 1, 8, 2, 7, 3, 6, 0, 5, 4];
    times.forEach((t, i) => keep.add(letter(i, i, Buffer.from('{}'), new Date(base + t * 1000).toISOString())));
    expect(keep.result().map((l) => (l.failedAt - base) / 1000)).toEqual([0, 1, 2]);
  });

  it('orders letters that failed together by their place on the topic', () => {
    const a = letter(10, 1, Buffer.from('{}'));
    const b = letter(9, 1, Buffer.from('{}'));
    const c = letter(8, 1, Buffer.from('{}'));
    expect([a, b, c].sort(byFailure).map((l) => l.at.offset)).toEqual(['8', '10', '9']);
  });
});
