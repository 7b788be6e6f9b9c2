/**
 * Micro-benchmark of decodeEvent, the call the ingest workers make for every event, and of
 * validateEvent alone (on parsed objects): time and heap bytes per event over a mix of every
 * event type and a few rejected ones. Heap bytes are the growth over a run short enough to
 * fit the young generation, so run it with a large one:
 *
 *   NODE_OPTIONS='--max-semi-space-size=64 --expose-gc' npx tsx bench/decode-event.ts [events per round]
 */
import { decodeEvent, validateEvent } from '@livetally/events';

const NOW = Date.UTC(2024, 8, 1, 12, 0, 0);
const base = {
  v: 1,
  eventId: 'dy-7f3a-000001',
  platform: 'douyin',
  streamId: 's-20240823-001',
  hostId: 'h-42',
  ts: NOW - 1000,
  city: 'Shenzhen',
  district: 'Futian',
  category: 'jewellery',
};
const MIX = [
  { ...base, type: 'view', viewerId: 'v-9c1e' },
  { ...base, type: 'view', count: 250 },
  { ...base, type: 'view', viewerId: 'v-9c1e', city: '深圳', district: '福田区', category: '珠宝首饰' },
  { ...base, type: 'sale', orderId: 'o-1', sku: 'sku-9', quantity: 2, amountFen: 129_900 },
  { ...base, type: 'refund', orderId: 'o-1', amountFen: 500 },
  { ...base, type: 'like', count: 12 },
  { ...base, type: 'stream_started', title: '水贝黄金专场' },
  { ...base, type: 'stream_ended' },
  { ...base, type: 'sale', orderId: 'o-2', sku: 'sku-9', quantity: 0, amountFen: -1 },
  { ...base, type: 'view', hostId: 'h-1:all' },
].map((e) => Buffer.from(JSON.stringify(e)));

const PARSED: unknown[] = MIX.map((b) => JSON.parse(b.toString()));
const rounds = 7;
const perRound = Number(process.argv[2] ?? 200_000);
let accepted = 0;
// Results are kept, as the workers keep them: a result nothing reads could be optimised away.
const kept: unknown[] = new Array(1024);
const decodeAll = (n: number) => {
  for (let i = 0; i < n; i++) {
    const result = decodeEvent(MIX[i % MIX.length]!, NOW);
    kept[i & 1023] = result;
    if (result.ok) accepted++;
  }
};
const validateAll = (n: number) => {
  for (let i = 0; i < n; i++) {
    const result = validateEvent(PARSED[i % PARSED.length], { now: NOW });
    kept[i & 1023] = result;
    if (result.ok) accepted++;
  }
};

function measure(name: string, run: (n: number) => void): void {
  run(perRound); // warm-up
  const nsPerEvent: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    run(perRound);
    nsPerEvent.push(Number(process.hrtime.bigint() - start) / perRound);
  }
  const sample = 10_000;
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  run(sample);
  const bytesPerEvent = (process.memoryUsage().heapUsed - before) / sample;
  nsPerEvent.sort((a, b) => a - b);
  console.log(
    `${name}: median ${nsPerEvent[Math.floor(rounds / 2)]!.toFixed(0)} ns/event (best ${nsPerEvent[0]!.toFixed(0)}), ` +
      `~${bytesPerEvent.toFixed(0)} heap bytes/event`,
  );
}

measure('validateEvent', validateAll);
measure('decodeEvent (JSON.parse included)', decodeAll);
console.log(`(${accepted} accepted in all)`);
