import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, scopesOf } from './scopes';

describe('scopes', () => {
  it('lists every scope an event counts towards', () => {
    const scopes = scopesOf({ v: 1, type: 'view', eventId: 'e', platform: 'taobao', streamId: 's-1', hostId: 'h-2', ts: 0, city: 'Shenzhen', district: 'Luohu', category: 'jewellery' });
    expect(scopes).toEqual(['all', 'city:Shenzhen', 'district:Luohu', 'category:jewellery', 'platform:taobao', 'host:h-2', 'stream:s-1']);
  });

  it('parses and formats scopes', () => {
    expect(parseScope('all')).toEqual({ ok: true, scope: { kind: 'all', value: '' } });
    expect(parseScope("district:Bao'an")).toEqual({ ok: true, scope: { kind: 'district', value: "Bao'an" } });
    expect(parseScope('campaign:ecm-2024')).toEqual({ ok: true, scope: { kind: 'campaign', value: 'ecm-2024' } });
    expect(formatScope({ kind: 'host', value: 'h-42' })).toBe('host:h-42');
    expect(formatScope({ kind: 'all', value: '' })).toBe('all');
  });

  it('rejects malformed scopes with a message', () => {
    for (const bad of ['', 'district', 'planet:Mars', 'all:x', 'district:', 'district:a*b', 'host:{x}']) {
      const r = parseScope(bad);
      expect(r.ok, bad).toBe(false);
    }
  });
});
