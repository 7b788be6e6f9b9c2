import type { IncomingHttpHeaders } from 'node:http';
import { ClickHouseHttpError, ErrorCode } from './errors';

/**
 * Checks that keep web pages out, made before credentials are even looked at:
 * a page in a browser on this machine can reach a loopback port, but it cannot
 * hide that it is a browser (Origin, Sec-Fetch-Site), choose any Host but its own
 * (DNS rebinding gives it our address under its own name), or send a body
 * without preflight except as text/plain, a urlencoded form or multipart/form-data.
 */

/** Host names every server accepts: the loopback names, with the port it listens on. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

// Content types a browser sends cross-origin without asking first (CORS-safelisted).
const BROWSER_FORM_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);

/** The Host header values the server answers to: each allowed name with its port. */
export function allowedHostHeaders(listenHost: string, port: number, extraNames: readonly string[]): Set<string> {
  const names = [
    listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost,
    ...LOOPBACK_HOSTS,
    ...extraNames,
  ];
  const allowed = new Set<string>();
  for (const name of names.map((n) => n.toLowerCase())) {
    allowed.add(`${name}:${port}`);
    // Clients leave the port out when it is the scheme's default.
    if (port === 80) allowed.add(name);
  }
  return allowed;
}

export function checkHost(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): void {
  const host = headers.host?.trim().toLowerCase();
  if (host === undefined || host === '') {
    throw ClickHouseHttpError.of(ErrorCode.ACCESS_DENIED, 'Requests without a Host header are not accepted', 403);
  }
  if (!allowed.has(host)) {
    throw ClickHouseHttpError.of(
      ErrorCode.ACCESS_DENIED,
      `Host ${JSON.stringify(headers.host)} is not one this server answers to (${[...allowed].join(', ')}); add the name to CHDB_ALLOWED_HOSTS if it is yours`,
      403,
    );
  }
}

/** Browsers add Origin to cross-origin and POST requests and Sec-Fetch-Site to all of them; ClickHouse clients send neither. */
export function refuseBrowsers(headers: IncomingHttpHeaders): void {
  const sign =
    headers.origin !== undefined ? 'Origin' : headers['sec-fetch-site'] !== undefined ? 'Sec-Fetch-Site' : undefined;
  if (sign) {
    throw ClickHouseHttpError.of(
      ErrorCode.ACCESS_DENIED,
      `Requests from web browsers are not accepted (the request has a ${sign} header); chdb-server is for ClickHouse clients such as @clickhouse/client`,
      403,
    );
  }
}

/**
 * Refuses the body types a page can send without a CORS preflight. ClickHouse clients
 * send the query or insert data without a Content-Type; @clickhouse/client uses
 * multipart/form-data only with use_multipart_params, which nothing here turns on.
 */
export function refuseBrowserBodies(headers: IncomingHttpHeaders): void {
  const raw = headers['content-type'];
  if (raw === undefined) return;
  const essence = raw.split(';')[0]!.trim().toLowerCase();
  if (BROWSER_FORM_TYPES.has(essence)) {
    throw ClickHouseHttpError.of(
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `Request bodies of type ${essence} are not accepted (a web page can send them to any address); send the query without a Content-Type, and query parameters in the URL (leave @clickhouse/client's use_multipart_params off)`,
    );
  }
}
