import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { mintToken, type Role, type TokenKey } from '@livetally/gateway';

/**
 * Helpers for the access-control tests: a key pair configured the way an operator
 * would (GATEWAY_TOKEN_SECRETS with two kids), tokens minted from it, and a ws client
 * whose every wait is bounded.
 */
export const KEYS: TokenKey[] = [
  { kid: 'k2', secret: randomBytes(36).toString('base64') },
  { kid: 'k1', secret: randomBytes(36).toString('base64') },
];

export const AUTH_ENV = {
  GATEWAY_AUTH: 'on',
  GATEWAY_TOKEN_SECRETS: KEYS.map((k) => `${k.kid}:${k.secret}`).join(','),
  GATEWAY_TOKEN_CLOCK_SKEW_SECONDS: '5',
};

export function token(
  role: Role,
  scopes: string[],
  options: { ttlSeconds?: number; now?: number; key?: TokenKey } = {},
): string {
  return mintToken(
    { sub: `test-${role}`, role, scopes, ttlSeconds: options.ttlSeconds ?? 600, now: options.now ?? Date.now() },
    options.key ?? KEYS[0]!,
  );
}

export type Frame = { type: string; code?: string; channel?: string; message?: string; data?: unknown; seq?: number };

export interface LiveConnection {
  ws: WebSocket;
  frames: Frame[];
  /** Resolves with the close code. */
  closed: Promise<number>;
  /** The next frame (from the start, in order) matching, within ms. */
  waitFor(match: (f: Frame) => boolean, what: string, ms?: number): Promise<Frame>;
}

/** Opens /v1/live; rejects with "status <n>" when the upgrade is refused, or after 5 s. */
export function openLive(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<LiveConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, handshakeTimeout: 5_000 });
    const frames: Frame[] = [];
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const timer = setTimeout(() => (ws.terminate(), reject(new Error('timed out opening /v1/live'))), 5_000);
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
    ws.once('open', () => {
      clearTimeout(timer);
      resolve({
        ws,
        frames,
        closed,
        async waitFor(match, what, ms = 5_000) {
          const deadline = Date.now() + ms;
          for (;;) {
            const found = frames.find(match);
            if (found) return found;
            if (Date.now() > deadline)
              throw new Error(
                `timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(frames).slice(0, 500)}`,
              );
            await new Promise((r) => setTimeout(r, 10));
          }
        },
      });
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () =>
        reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode, body })),
      );
      res.on('error', () => reject(new Error(`status ${res.statusCode}`)));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Sends a subscribe and resolves with its answer: the next snapshot or error frame of that channel, within ms. */
export async function subscribe(socket: LiveConnection, channel: string, ms = 5_000): Promise<Frame> {
  const before = socket.frames.length;
  socket.ws.send(JSON.stringify({ type: 'subscribe', channel }));
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = socket.frames
      .slice(before)
      .find((f) => (f.type === 'snapshot' || f.type === 'error') && f.channel === channel.slice(0, 200));
    if (answer) return answer;
    if (Date.now() > deadline)
      throw new Error(
        `no answer to subscribe ${channel}: ${JSON.stringify(socket.frames.slice(before)).slice(0, 500)}`,
      );
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const liveUrl = (httpUrl: string, query = '') => `${httpUrl.replace(/^http/, 'ws')}/v1/live${query}`;
