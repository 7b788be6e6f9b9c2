import { createServer, type ServerResponse, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { errorBodies } from '@livetally/http-errors';
import type { Logger } from '@livetally/logging';

/** The ops server's error codes, answered in the body every LiveTally HTTP service uses. */
export const OPS_ERRORS = {
  NOT_FOUND: { status: 404, message: 'No such resource; the ops server answers /metrics, /healthz and /readyz.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const;

const errorBody = errorBodies(OPS_ERRORS);

function sendError(res: ServerResponse, code: keyof typeof OPS_ERRORS): void {
  res.writeHead(OPS_ERRORS[code].status, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody(code)));
}

/** Small side server: Prometheus metrics, liveness and readiness for orchestrators. */
export function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  isReady: () => boolean;
  logger: Logger;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(body),
        (err: Error) => {
          options.logger.error({ err }, 'could not collect the metrics');
          sendError(res, 'INTERNAL');
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const ready = options.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready }));
    } else {
      sendError(res, 'NOT_FOUND');
    }
  });
  server.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
