import { describe, expect, it } from 'vitest';
import { ApiKeyring, checkApiKeys, parseApiKeyFile, parseApiKeyList } from './api-keys';

const K1 = 'k1-aaaaaaaaaaaaaaaaaaaa';
const K2 = 'k2-bbbbbbbbbbbbbbbbbbbb';
const K3 = 'k3-cccccccccccccccccccc';

describe('ApiKeyring', () => {
  it('identifies the platform of a key, including rotated keys', () => {
    const ring = new ApiKeyring([
      { platform: 'douyin', key: K1 },
      { platform: 'taobao', key: K2 },
      { platform: 'douyin', key: K3 },
    ]);
    expect(ring.identify(K1)).toBe('douyin');
    expect(ring.identify(K3)).toBe('douyin');
    expect(ring.identify(K2)).toBe('taobao');
    expect(ring.identify(`${K1}x`)).toBeUndefined();
    expect(ring.identify('')).toBeUndefined();
    expect(ring.platforms).toEqual(['douyin', 'taobao']);
  });
});

describe('parsing key lists', () => {
  it('reads platform:key lists', () => {
    expect(parseApiKeyList(` douyin:${K1}, taobao:${K2} ,`)).toEqual([
      { platform: 'douyin', key: K1 },
      { platform: 'taobao', key: K2 },
    ]);
    expect(parseApiKeyList(`douyin:${K1},${K2}`)).toBe('entry 2 must be platform:key');
  });

  it('reads JSON files with one key or several per platform', () => {
    expect(parseApiKeyFile(JSON.stringify({ douyin: K1, taobao: [K2, K3] }))).toEqual([
      { platform: 'douyin', key: K1 },
      { platform: 'taobao', key: K2 },
      { platform: 'taobao', key: K3 },
    ]);
    expect(parseApiKeyFile('{ nope')).toBe('is not valid JSON');
    expect(parseApiKeyFile('[]')).toMatch(/JSON object/);
    expect(parseApiKeyFile('{"douyin": 5}')).toMatch(/"douyin" must be a string/);
  });

  it('reports weak keys, bad platform names and shared keys without quoting any key', () => {
    const problems = checkApiKeys(
      [
        { platform: 'douyin', key: 'short' },
        { platform: 'tao bao', key: K1 },
        { platform: 'jd', key: K1 },
      ],
      'COLLECTOR_API_KEYS',
    );
    expect(problems).toEqual([
      'COLLECTOR_API_KEYS entry 1 (douyin): the key must be 16-256 characters of A-Z a-z 0-9 . _ ~ + / = -',
      expect.stringMatching(/^COLLECTOR_API_KEYS entry 2: the platform name must match/),
      'COLLECTOR_API_KEYS entry 3 (jd): the same key is also configured for tao bao',
    ]);
    expect(problems.join('\n')).not.toContain(K1);
    expect(checkApiKeys([], 'X')).toEqual(['X has no API keys']);
  });
});
