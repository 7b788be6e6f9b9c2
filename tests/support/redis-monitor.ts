import { connect } from 'node:net';

/**
 * Every command Redis runs, from MONITOR on a plain connection. Not ioredis's `monitor()`:
 * it marks the connection as monitoring in a promise callback after MONITOR's +OK, so a
 * command line that arrives in the same read as the +OK is taken for a reply to nothing
 * ("Command queue state error", an unhandled 'error' that failed a CI run).
 */
export interface RedisMonitor {
  close(): void;
}

export async function monitorRedis(url: string, onCommand: (args: string[]) => void): Promise<RedisMonitor> {
  const { hostname, port, username, password } = new URL(url);
  const socket = connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, ''));
  let started: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const monitoring = new Promise<void>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  socket.on('error', (err) => failed(err));
  socket.setEncoding('utf8');
  let buffered = '';
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line === '+OK') started();
      else if (line.startsWith('-')) failed(new Error(`Redis refused MONITOR: ${line.slice(1)}`));
      else if (line.startsWith('+')) onCommand(monitorArgs(line));
    }
  });
  if (password)
    socket.write(resp(['AUTH', ...(username ? [decodeURIComponent(username)] : []), decodeURIComponent(password)]));
  socket.write(resp(['MONITOR']));
  await monitoring;
  return { close: () => socket.destroy() };
}

/** A command as RESP (an array of bulk strings). */
function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };

/** The quoted arguments of a MONITOR line (`+<time> [<db> <client>] "cmd" "arg"…`), unescaped. */
function monitorArgs(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
    m[1]!.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
      e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e),
    ),
  );
}
