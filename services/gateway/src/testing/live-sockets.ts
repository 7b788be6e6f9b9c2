import WebSocket from 'ws';

/** Client sockets of a test file: open() tracks them, closeAll() (afterEach) ends them. */
export class TestSockets<Frame> {
  private readonly opened: WebSocket[] = [];

  /** Opens a socket; resolves with it and the frames it gets, or rejects with the refused status. */
  open(
    url: string,
    options: { protocols?: string[] } & WebSocket.ClientOptions = {},
  ): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
    const { protocols = [], ...clientOptions } = options;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, clientOptions);
      this.opened.push(ws);
      const frames: Frame[] = [];
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Frame));
      ws.once('open', () => resolve({ ws, frames, closed }));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
      ws.once('error', reject);
      setTimeout(() => reject(new Error('timed out opening')), 3000).unref();
    });
  }

  closeAll(): void {
    for (const ws of this.opened.splice(0)) ws.terminate();
  }
}

/** Polls `probe` every 10 ms until it returns a value; throws after `ms`. */
export async function until<T>(probe: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
