import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { LiveEvent } from '@livetally/events';
import type { ErrorBody } from '@livetally/http-errors';
import { parseRetryAfter } from './backoff';
import type { BatchResponse, EventResult, Transport } from './types';

const gzipAsync = promisify(gzip);

export interface HttpTransportOptions {
  /** The collector's base URL, e.g. https://collector.example.com (POSTs go to /v1/events). */
  url: string;
  /** The platform's API key; sent as a Bearer token, never logged. */
  apiKey: string;
  /** Compress bodies of at least this many bytes with gzip (default 1024; false: never). */
  gzipAboveBytes?: number | false;
  /** Per-request timeout (default 15 s); a timeout is retried like a network error. */
  timeoutMs?: number;
  /** Injectable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/** POSTs batches to the collector and turns every answer into a BatchResponse. */
export class HttpTransport implements Transport {
  private readonly endpoint: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpTransportOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, '')}/v1/events`;
    this.fetch = options.fetch ?? fetch;
  }

  async sendBatch(events: readonly LiveEvent[]): Promise<BatchResponse> {
    const json = Buffer.from(JSON.stringify({ events }), 'utf8');
    const threshold = this.options.gzipAboveBytes ?? 1024;
    const compress = threshold !== false && json.length >= threshold;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: `Bearer ${this.options.apiKey}`,
    };
    if (compress) headers['content-encoding'] = 'gzip';
    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const res = await this.fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: compress ? await gzipAsync(json) : json,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      // No answer (refused, reset, timed out, cut mid-body): the events may or may not be stored.
      return { kind: 'retry', reason: `network error: ${describe(err)}` };
    }
    const body = parseJson(text);
    if (status === 200 || status === 207) {
      const results = (body as { results?: unknown } | undefined)?.results;
      if (Array.isArray(results) && results.length === events.length)
        return { kind: 'results', results: results as EventResult[] };
      // The status says stored but the answer is unreadable: resending is safe (same eventIds).
      return { kind: 'retry', reason: `unreadable ${status} answer` };
    }
    // The collector's error shape, but read defensively: a proxy in between may answer anything.
    const error = (body as Partial<ErrorBody> | undefined)?.error;
    const reason = `HTTP ${status}${error?.code ? ` ${error.code}` : ''}${error?.message ? `: ${error.message}` : ''}`;
    if (RETRY_STATUSES.has(status))
      return { kind: 'retry', reason, retryAfterMs: parseRetryAfter(retryAfter, Date.now()) };
    return { kind: 'fatal', reason, status, code: error?.code };
  }

  async close(): Promise<void> {
    // fetch keeps no state the client owns.
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.name ?? String(err);
}
