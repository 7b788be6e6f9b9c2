import { KID, MIN_SECRET_BYTES, type TokenKey } from './token';

const NAME = 'GATEWAY_TOKEN_SECRETS';
export const REQUIRED_WHEN = 'when GATEWAY_AUTH=on (the default)';

/**
 * Parses GATEWAY_TOKEN_SECRETS: "kid:secret[,kid:secret…]". The first key signs new
 * tokens; every listed key verifies. To rotate, put the new key first and keep the old
 * one until its tokens have expired, then remove it. A single secret may go without a
 * kid ("secret"). Problems name the variable and the entry, never a secret.
 */
export function parseTokenSecrets(
  raw: string | undefined,
): { ok: true; keys: TokenKey[] } | { ok: false; problems: string[] } {
  const parts = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0)
    return {
      ok: false,
      problems: [
        `${NAME} is required ${REQUIRED_WHEN} (kid:secret, each secret at least ${MIN_SECRET_BYTES} bytes); create one with ${NAME}="k1:$(openssl rand -base64 48)" (npm start keeps one in .data/gateway-token-secrets)`,
      ],
    };
  const problems: string[] = [];
  const keys: TokenKey[] = [];
  const kids = new Set<string | undefined>();
  parts.forEach((part, i) => {
    const colon = part.indexOf(':');
    const bare = colon < 0;
    const kid = bare ? undefined : part.slice(0, colon).trim();
    const secret = bare ? part : part.slice(colon + 1).trim();
    const where = `${NAME} entry ${i + 1}${kid !== undefined && KID.test(kid) ? ` (${kid})` : ''}`;
    if (bare && parts.length > 1) problems.push(`${where}: with several secrets every entry must be kid:secret`);
    if (kid !== undefined && !KID.test(kid))
      problems.push(`${where}: the kid must be 1-32 characters of A-Z a-z 0-9 . _ -`);
    if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES)
      problems.push(`${where}: the secret must be at least ${MIN_SECRET_BYTES} bytes (openssl rand -base64 48)`);
    if (kids.has(kid)) problems.push(`${where}: the kid is listed twice`);
    if (keys.some((k) => k.secret === secret)) problems.push(`${where}: the same secret is listed twice`);
    kids.add(kid);
    keys.push(kid === undefined ? { secret } : { kid, secret });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, keys };
}

/** Parses a TTL such as 90s, 15m, 8h, 30d or plain seconds; undefined when invalid or over a year. */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return seconds > 0 && seconds <= 366 * 86_400 ? seconds : undefined;
}
