import { createHash, timingSafeEqual } from 'node:crypto';

/** One credential: the platform it speaks for and its secret. */
export interface ApiKeyEntry {
  platform: string;
  key: string;
}

// Keys travel in headers and in "platform:key,…" lists, so no commas, colons or spaces;
// 16 characters is the floor for a secret that is not guessable by brute force online.
const KEY_PATTERN = /^[A-Za-z0-9._~+/=-]{16,256}$/;
// The alphabet and length the events validator accepts for the `platform` field: a platform
// name outside it could never send a valid event.
const PLATFORM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Checks a list of credentials. Problems name the source and the platform, never the
 * key itself (configuration errors end up in logs).
 */
export function checkApiKeys(entries: readonly ApiKeyEntry[], source: string): string[] {
  const problems: string[] = [];
  if (entries.length === 0) problems.push(`${source} has no API keys`);
  const seen = new Map<string, string>();
  entries.forEach((e, i) => {
    const where = `${source} entry ${i + 1}${PLATFORM_PATTERN.test(e.platform) ? ` (${e.platform})` : ''}`;
    if (!PLATFORM_PATTERN.test(e.platform))
      problems.push(`${where}: the platform name must match ${PLATFORM_PATTERN.source}`);
    if (!KEY_PATTERN.test(e.key))
      problems.push(`${where}: the key must be 16-256 characters of A-Z a-z 0-9 . _ ~ + / = -`);
    const owner = seen.get(e.key);
    if (owner !== undefined && owner !== e.platform)
      problems.push(`${where}: the same key is also configured for ${owner}`);
    seen.set(e.key, e.platform);
  });
  return problems;
}

/** "douyin:<key>,taobao:<key>"; a platform may appear more than once (key rotation). */
export function parseApiKeyList(raw: string): ApiKeyEntry[] | string {
  const entries: ApiKeyEntry[] = [];
  for (const [i, part] of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .entries()) {
    const colon = part.indexOf(':');
    if (colon <= 0) return `entry ${i + 1} must be platform:key`;
    entries.push({ platform: part.slice(0, colon).trim(), key: part.slice(colon + 1).trim() });
  }
  return entries;
}

/** A JSON file: { "douyin": "<key>", "taobao": ["<current key>", "<next key>"] }. */
export function parseApiKeyFile(text: string): ApiKeyEntry[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'is not valid JSON'; // the parser's message would quote the file's content
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'must hold a JSON object { "platform": "key" | ["key", …] }';
  const entries: ApiKeyEntry[] = [];
  for (const [platform, value] of Object.entries(parsed)) {
    const keys: unknown[] = Array.isArray(value) ? value : [value];
    for (const key of keys) {
      if (typeof key !== 'string')
        return `the value for ${JSON.stringify(platform)} must be a string or an array of strings`;
      entries.push({ platform, key });
    }
  }
  return entries;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Maps a presented API key to its platform. Keys are compared as SHA-256 digests with
 * timingSafeEqual against every configured key (no early exit), so neither a key's
 * length nor its position in the list leaks through response timing.
 */
export class ApiKeyring {
  private readonly digests: { platform: string; digest: Buffer }[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.digests = entries.map((e) => ({ platform: e.platform, digest: digest(e.key) }));
  }

  get platforms(): string[] {
    return [...new Set(this.digests.map((d) => d.platform))].sort();
  }

  identify(presented: string): string | undefined {
    const d = digest(presented);
    let platform: string | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(d, entry.digest) && platform === undefined) platform = entry.platform;
    }
    return platform;
  }
}
