/**
 * WebSocket clients for the fan-out scenario, in a process of their own so that the
 * clients never share the gateway's event loop. Driven over IPC by bench/scenarios/fanout.ts:
 *
 *   {cmd:'connect', url, total, channels, offset}  open sockets until `total` are open here;
 *                                                   socket i subscribes to channels[(offset+i) % n]
 *                                                   and counts once its snapshot arrived
 *   {cmd:'measure', ms}                             record update lags for ms, then report them
 *   {cmd:'close'}                                   terminate every socket and exit
 *
 * Update frames carry the totals of the channel; the driver makes salesFen equal to the
 * wall-clock ms at which it applied the batch, so delivery lag = arrival − salesFen and
 * fan-out lag = arrival − the frame's ts (when the gateway's tick sent it).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Histogram } from '../lib/stats';

type Command = { cmd: 'connect'; url: string; total: number; channels: string[]; offset: number } | { cmd: 'measure'; ms: number } | { cmd: 'close' };

const sockets: WebSocket[] = [];
let measuring = false;
let lag = new Histogram(60_000);
let fan = new Histogram(60_000);
let frames = 0;
let closed = 0;
let errors = 0;
const send = (m: unknown) => process.send?.(m);

function numberAfter(text: string, key: string): number {
  const i = text.indexOf(key);
  if (i < 0) return NaN;
  let j = i + key.length;
  let n = 0;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

function open(url: string, channel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      done(false);
    }, 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', channel })));
    ws.on('message', (raw) => {
      const text = String(raw);
      if (!settled) {
        if (text.startsWith('{"type":"snapshot"')) {
          sockets.push(ws);
          done(true);
        }
        return;
      }
      if (!measuring || !text.startsWith('{"type":"update"')) return;
      const now = Date.now();
      frames++;
      const applied = numberAfter(text, '"salesFen":');
      const ts = numberAfter(text, '"ts":');
      if (applied > 0) lag.add(now - applied);
      if (ts > 0) fan.add(now - ts);
    });
    ws.on('error', () => {
      errors++;
      done(false);
    });
    ws.on('close', () => {
      if (settled) closed++;
      done(false);
    });
  });
}

process.on('message', async (c: Command) => {
  if (c.cmd === 'connect') {
    const started = performance.now();
    let failed = 0;
    let i = sockets.length;
    while (sockets.length < c.total && failed < 200) {
      const wave: Promise<boolean>[] = [];
      for (let w = 0; w < 200 && sockets.length + wave.length < c.total; w++, i++) wave.push(open(c.url, c.channels[(c.offset + i) % c.channels.length]!));
      for (const ok of await Promise.all(wave)) if (!ok) failed++;
    }
    send({ type: 'connected', open: sockets.length, failed, errors, seconds: (performance.now() - started) / 1000 });
  } else if (c.cmd === 'measure') {
    lag = new Histogram(60_000);
    fan = new Histogram(60_000);
    frames = 0;
    closed = 0;
    measuring = true;
    // How late this process's own event loop runs: a frame waiting behind a busy loop
    // arrives late by that much without the gateway being slow.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    setTimeout(() => {
      measuring = false;
      loop.disable();
      const loopDelayMs = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
      send({ type: 'measured', lag: lag.toSparse(), fan: fan.toSparse(), frames, closed, open: sockets.length, loopDelayMs });
    }, c.ms);
  } else if (c.cmd === 'close') {
    for (const ws of sockets) ws.terminate();
    send({ type: 'closed' });
    setTimeout(() => process.exit(0), 100);
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'started' });
