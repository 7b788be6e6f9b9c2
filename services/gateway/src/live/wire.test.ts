import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeTextFrame, OutFrame } from './wire';

let server: WebSocketServer | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe('encodeTextFrame', () => {
  it('uses the 7-bit, 16-bit and 64-bit length forms at their boundaries', () => {
    for (const [length, header] of [
      [0, 2],
      [125, 2],
      [126, 4],
      [65_535, 4],
      [65_536, 10],
    ] as const) {
      const frame = encodeTextFrame('x'.repeat(length));
      expect(frame.length).toBe(header + length);
      expect(frame[0]).toBe(0x81);
      expect(frame[1]).toBe(header === 2 ? length : header === 4 ? 126 : 127);
    }
    expect(encodeTextFrame('福田').subarray(2).toString('utf8')).toBe('福田'); // length counts bytes, not characters
  });

  it('is read by a ws client exactly as ws.send would deliver it', async () => {
    const texts = [
      '',
      '{"type":"update"}',
      'é'.repeat(100),
      JSON.stringify({ data: 'y'.repeat(70_000) }),
      'x'.repeat(65_535),
    ];
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => server!.once('listening', r));
    server.on('connection', (ws, request) => {
      // As LiveConnection does: finished frames straight to the TCP socket, mixed with ws's own writes.
      for (const text of texts) request.socket.write(new OutFrame(text).wire);
      ws.send('via ws');
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data, isBinary) => {
        expect(isBinary).toBe(false);
        received.push(String(data));
        if (received.length === texts.length + 1) resolve();
      });
      client.on('error', reject);
    });
    client.terminate();
    expect(received).toEqual([...texts, 'via ws']);
  });
});
