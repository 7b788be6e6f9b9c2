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
 * fan-out lag = arrival − the frame's ts (when the gateway's tick sent it). Arrival is
 * the moment this process reads the frame off its socket.
 *
 * The clients speak RFC 6455 themselves (handshake, frame parsing, masked pongs) instead
 * of using ws: at 10k sockets ws's per-message work (a stream per socket, events, UTF-8
 * validation, a string per frame) took the two client processes as much CPU as the
 * gateway itself, on the same two cores. The lag is measured the same way; the clients
 * just steal less CPU from the process under test.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Histogram } from '../lib/stats';

type Command =
  | { cmd: 'connect'; url: string; total: number; channels: string[]; offset: number }
  | { cmd: 'measure'; ms: number }
  | { cmd: 'close' };

const sockets: Socket[] = [];
let measuring = false;
let lag = new Histogram(60_000);
let fan = new Histogram(60_000);
let frames = 0;
let closed = 0;
let errors = 0;
const send = (m: unknown) => process.send?.(m);

const UPDATE = Buffer.from('{"type":"update"');
const SNAPSHOT = Buffer.from('{"type":"snapshot"');
const SALES = Buffer.from('"salesFen":');
const TS = Buffer.from('"ts":');

/** The integer after `key` in a frame's JSON payload, or NaN. */
function numberAfter(buf: Buffer, start: number, end: number, key: Buffer): number {
  const i = buf.indexOf(key, start);
  if (i < 0 || i >= end) return NaN;
  let n = 0;
  for (let j = i + key.length; j < end; j++) {
    const c = buf[j]! - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

/** A client frame: FIN, the given opcode, masked as RFC 6455 requires (payload < 126 bytes). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.allocUnsafe(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/**
 * Reads the server's frames off one socket: text frames go to onText, pings are answered,
 * a close ends the socket. Returns the data listener (frames may span reads).
 */
function frameReader(
  socket: Socket,
  onText: (buf: Buffer, start: number, end: number, now: number) => void,
): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  return (chunk) => {
    const now = Date.now();
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let at = 0;
    while (buf.length - at >= 2) {
      const opcode = buf[at]! & 0x0f;
      let length = buf[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (buf.length - at < header + length) break;
      const start = at + header;
      const end = start + length;
      if (opcode === 1) onText(buf, start, end, now);
      else if (opcode === 9) socket.write(clientFrame(0xa, buf.subarray(start, end)));
      else if (opcode === 8) socket.end();
      at = end;
    }
    if (at < buf.length) pending = buf.subarray(at);
  };
}

function open(url: string, channel: string): Promise<boolean> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      done(false);
    }, 30_000);
    socket.setNoDelay(true);
    socket.on('connect', () =>
      socket.write(
        `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const onText = (buf: Buffer, start: number, end: number, now: number) => {
      if (!settled) {
        if (buf.indexOf(SNAPSHOT, start) === start) {
          sockets.push(socket);
          done(true);
        }
        return;
      }
      if (!measuring || buf.indexOf(UPDATE, start) !== start) return;
      frames++;
      const applied = numberAfter(buf, start, end, SALES);
      const ts = numberAfter(buf, start, end, TS);
      if (applied > 0) lag.add(now - applied);
      if (ts > 0) fan.add(now - ts);
    };
    // The 101 answer first, then frames on the same socket.
    let head = Buffer.alloc(0);
    const onHandshake = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!head.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 101')) {
        socket.destroy();
        return done(false);
      }
      socket.off('data', onHandshake);
      const reader = frameReader(socket, onText);
      socket.on('data', reader);
      socket.write(clientFrame(1, Buffer.from(JSON.stringify({ type: 'subscribe', channel }))));
      if (end + 4 < head.length) reader(head.subarray(end + 4));
    };
    socket.on('data', onHandshake);
    socket.on('error', () => {
      errors++;
      done(false);
    });
    socket.on('close', () => {
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
      for (let w = 0; w < 200 && sockets.length + wave.length < c.total; w++, i++)
        wave.push(open(c.url, c.channels[(c.offset + i) % c.channels.length]!));
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
      send({
        type: 'measured',
        lag: lag.toSparse(),
        fan: fan.toSparse(),
        frames,
        closed,
        open: sockets.length,
        loopDelayMs,
      });
    }, c.ms);
  } else if (c.cmd === 'close') {
    for (const s of sockets) s.destroy();
    send({ type: 'closed' });
    setTimeout(() => process.exit(0), 100);
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0)); // exit normally, so that --cpu-prof writes its profile
send({ type: 'started' });
