import { describe, expect, it } from 'vitest';
import { ClickHouseHttpError } from './errors';
import { allowedHostHeaders, checkHost, refuseBrowserBodies, refuseBrowsers } from './request-guard';

function refusal(fn: () => unknown): ClickHouseHttpError | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClickHouseHttpError) return err;
    throw err;
  }
  return undefined;
}

describe('Host allowlist', () => {
  const hosts = allowedHostHeaders('127.0.0.1', 8123, ['chdb.internal']);

  it('answers the loopback names, the listen host and configured names, on its own port', () => {
    for (const host of ['127.0.0.1:8123', 'localhost:8123', 'LOCALHOST:8123', '[::1]:8123', 'chdb.internal:8123']) {
      expect(
        refusal(() => checkHost({ host }, hosts)),
        host,
      ).toBeUndefined();
    }
  });

  it('refuses other names (DNS rebinding), other ports and a missing Host', () => {
    for (const host of ['evil.example:8123', '127.0.0.1:8124', '127.0.0.1', 'localhost.evil.example:8123', '']) {
      const err = refusal(() => checkHost({ host }, hosts));
      expect(err?.type, host).toBe('ACCESS_DENIED');
    }
    expect(refusal(() => checkHost({}, hosts))?.code).toBe(497);
  });

  it('brackets an IPv6 listen host and accepts no port on port 80', () => {
    expect([...allowedHostHeaders('::1', 80, [])]).toContain('[::1]');
    expect([...allowedHostHeaders('::', 9000, [])]).toContain('[::]:9000');
  });
});

describe('browser requests', () => {
  it('refuses requests that carry Origin or Sec-Fetch-Site', () => {
    expect(refusal(() => refuseBrowsers({ origin: 'https://evil.example' }))?.message).toMatch(/Origin/);
    expect(refusal(() => refuseBrowsers({ 'sec-fetch-site': 'cross-site' }))?.message).toMatch(/Sec-Fetch-Site/);
    expect(refusal(() => refuseBrowsers({ 'user-agent': 'clickhouse-js/1.23.1' }))).toBeUndefined();
  });

  it('refuses the bodies a page can send without preflight, and nothing @clickhouse/client sends by default', () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'Application/X-WWW-Form-Urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const err = refusal(() => refuseBrowserBodies({ 'content-type': type }));
      expect(err?.type, type).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(refusal(() => refuseBrowserBodies({}))).toBeUndefined();
    expect(refusal(() => refuseBrowserBodies({ 'content-type': 'application/octet-stream' }))).toBeUndefined();
  });
});
