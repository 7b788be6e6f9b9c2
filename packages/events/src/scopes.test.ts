import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, parseStrictScope, scopesOf } from './scopes';

describe('scopes', () => {
  it('lists every scope an event counts towards', () => {
    const scopes = scopesOf({
      v: 1,
      type: 'view',
      eventId: 'e',
      platform: 'taobao',
      streamId: 's-1',
      hostId: 'h-2',
      ts: 0,
      city: 'Shenzhen',
      district: 'Luohu',
      category: 'jewellery',
    });
    expect(scopes).toEqual([
      'all',
      'city:Shenzhen',
      'district:Luohu',
      'category:jewellery',
      'platform:taobao',
      'host:h-2',
      'stream:s-1',
    ]);
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

  it('strictly: accepts only values an event or the campaign API can produce for the kind', () => {
    for (const good of [
      'all',
      "district:Bao'an",
      'city:深圳',
      'category:珠宝首饰',
      'platform:douyin',
      'host:h-42',
      'stream:s.1_a',
      'campaign:ecm-2024',
      `host:${'h'.repeat(128)}`,
    ]) {
      expect(parseStrictScope(good).ok, good).toBe(true);
    }
    for (const bad of [
      'planet:Mars',
      'host:h 42',
      "host:h'1",
      'stream:深圳',
      'platform:dou yin',
      `platform:${'p'.repeat(65)}`,
      `city:${'c'.repeat(65)}`,
      `host:${'h'.repeat(129)}`,
      'campaign:ECM',
      'campaign:ecm_2024',
      `campaign:${'c'.repeat(65)}`,
    ]) {
      const r = parseStrictScope(bad);
      expect(r.ok, bad).toBe(false);
    }
    expect(parseStrictScope('host:h 42')).toEqual({ ok: false, message: expect.stringContaining('cannot exist') });
  });
});
