import { describe, expect, it } from 'vitest';
import { redisDescending } from './top-k-across';

describe('redisDescending', () => {
  it('orders by score descending, infinities included', () => {
    const entries = [1, Infinity, -2, 7, -Infinity].map((score, i) => ({ member: `m${i}`, score }));
    expect(entries.sort(redisDescending).map((e) => e.score)).toEqual([Infinity, 7, 1, -2, -Infinity]);
  });

  it('breaks ties by member bytes descending, as memcmp of UTF-8 and not as JavaScript compares strings', () => {
    // U+FF5E sorts after U+1F600 in UTF-16 code units (0xFF5E > 0xD83D) but before it in UTF-8 bytes (EF < F0).
    const members = ['b', 'a', 'ab', '\u{1F600}', '\uFF5E', 'B'];
    const sorted = members.map((member) => ({ member, score: 3 })).sort(redisDescending);
    expect(sorted.map((e) => e.member)).toEqual(['\u{1F600}', '\uFF5E', 'b', 'ab', 'a', 'B']);
  });
});
