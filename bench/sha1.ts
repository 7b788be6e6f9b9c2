/**
 * SHA-1 of resend-fingerprint-sized inputs: the JavaScript digest in @livetally/live-state
 * against node:crypto, so that keeping the hand-written one stays a measured choice.
 * Run: npx tsx bench/sha1.ts
 */
import { createHash } from 'node:crypto';
import { sha1Words } from '../packages/live-state/src/sha1';

const INPUTS = 100_000;
const ROUNDS = 5;
const inputs = Array.from({ length: INPUTS }, (_, i) => `douyin\u0000evt-${i.toString(36)}-${(i * 7919).toString(16)}`);

function nsPerDigest(digest: (text: string) => number): number {
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (const text of inputs) sink ^= digest(text);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / INPUTS);
  }
  if (sink === 0.5) console.log(sink); // keeps the loop from being optimised away
  return best;
}

const js = nsPerDigest((text) => sha1Words(text)[0]!);
const node = nsPerDigest((text) => createHash('sha1').update(text).digest().readInt32BE(0));
console.log(`sha1Words (JavaScript): ${js.toFixed(0)} ns per digest`);
console.log(`node:crypto createHash: ${node.toFixed(0)} ns per digest`);
console.log(`JavaScript is ${(node / js).toFixed(1)}x ${js < node ? 'faster' : 'SLOWER'}`);
