import { describe, expect, it } from 'vitest';
import { FrameRateLimiter } from './frame-rate';
import { ConnectionCounter, originAllowed } from './upgrade-guard';

describe('FrameRateLimiter', () => {
  it('allows a burst, then the steady rate', () => {
    const l = new FrameRateLimiter({ perSecond: 20, burst: 40 }, 0);
    for (let i = 0; i < 40; i++) expect(l.take(0)).toBe('ok');
    expect(l.take(0)).toBe('limited');
    expect(l.take(50)).toBe('ok'); // 50 ms at 20/s refills one frame
    expect(l.take(50)).toBe('limited');
    // A client that sends exactly at the rate is never limited.
    let t = 10_000;
    for (let i = 0; i < 200; i++, t += 50) expect(l.take(t)).toBe('ok');
  });

  it('calls a persistent flood abusive, but forgives after a calm second', () => {
    const l = new FrameRateLimiter({ perSecond: 20, burst: 5 }, 0);
    for (let i = 0; i < 5; i++) expect(l.take(0)).toBe('ok');
    const verdicts = Array.from({ length: 6 }, (_, i) => l.take(i));
    expect(verdicts).toEqual(['limited', 'limited', 'limited', 'limited', 'limited', 'abusive']);

    const m = new FrameRateLimiter({ perSecond: 1, burst: 5 }, 0);
    for (let i = 0; i < 5; i++) m.take(0);
    for (let i = 0; i < 5; i++) expect(m.take(0)).toBe('limited');
    expect(m.take(1000)).toBe('ok'); // one token refilled
    expect(m.take(1000)).toBe('limited'); // strikes were reset by the calm second
    for (let i = 0; i < 4; i++) expect(m.take(1000)).toBe('limited');
    expect(m.take(1000)).toBe('abusive');
  });

  it('does not mint frames when the clock steps back', () => {
    const l = new FrameRateLimiter({ perSecond: 10, burst: 1 }, 5_000);
    expect(l.take(5_000)).toBe('ok');
    expect(l.take(1_000)).toBe('limited');
    expect(l.take(5_050)).toBe('limited');
    expect(l.take(5_100)).toBe('ok');
  });
});

describe('WebSocket upgrade checks', () => {
  it('allows the same origin, listed origins and non-browser clients', () => {
    expect(originAllowed(undefined, '127.0.0.1:8080', [])).toBe(true);
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', [])).toBe(true);
    expect(originAllowed('https://screens.example.com', 'screens.example.com:443', [])).toBe(true);
    expect(originAllowed('http://Gateway.Local', 'gateway.local:80', [])).toBe(true);
    expect(originAllowed('https://evil.example', '127.0.0.1:8080', [])).toBe(false);
    expect(originAllowed('http://127.0.0.1:9999', '127.0.0.1:8080', [])).toBe(false);
    expect(originAllowed('null', '127.0.0.1:8080', ['*'])).toBe(true);
    expect(originAllowed('null', '127.0.0.1:8080', [])).toBe(false);
    expect(originAllowed('garbage', '127.0.0.1:8080', [])).toBe(false);
    expect(originAllowed('https://ops.example.com', '10.0.0.5:8080', ['https://ops.example.com'])).toBe(true);
    expect(originAllowed('https://ops.example.com', undefined, [])).toBe(false);
  });

  it('caps connections in total and per address', () => {
    const c = new ConnectionCounter({ maxConnections: 3, maxConnectionsPerIp: 2 });
    expect([c.reserve('a'), c.reserve('a'), c.reserve('a')]).toEqual(['ok', 'ok', 'ip']);
    expect([c.reserve('b'), c.reserve('c')]).toEqual(['ok', 'total']);
    c.release('a');
    expect(c.total).toBe(2);
    expect(c.reserve('c')).toBe('ok');
    c.release('nobody'); // unknown addresses are ignored
    expect(c.total).toBe(3);
  });
});
