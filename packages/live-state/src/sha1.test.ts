import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha1Words } from './sha1';

describe('sha1Words', () => {
  it('is node:crypto SHA-1, bit for bit, for any string', () => {
    const node = (text: string) => createHash('sha1').update(text).digest();
    const js = (text: string) => {
      const h = sha1Words(text);
      const out = Buffer.alloc(20);
      for (let i = 0; i < 5; i++) out.writeInt32BE(h[i]!, i * 4);
      return out;
    };
    const alphabet = ['a', 'Z', '9', '-', ':', '\u0000', 'é', '深', '😀', '\ud800', '\udfff'];
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const samples = [
      '',
      'abc',
      'douyin\u0000e-1',
      'x'.repeat(55),
      'x'.repeat(56),
      'x'.repeat(63),
      'x'.repeat(64),
      'y'.repeat(300),
    ];
    for (let i = 0; i < 2000; i++) {
      const length = Math.floor(random() * 200);
      let text = '';
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * (i % 2 ? 5 : alphabet.length))];
      samples.push(text);
    }
    for (const text of samples) expect(js(text).equals(node(text)), JSON.stringify(text)).toBe(true);
  });
});
