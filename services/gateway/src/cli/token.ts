import { parseArgs } from 'node:util';
import { parseTtl } from '../auth/keys';
import { checkScopePattern } from '../auth/scopes';
import { ROLES, checkClaims, mintToken, verifyToken, type Role } from '../auth/token';
import { loadTokenKeys } from '../config';

/**
 * npm run token -- --role reader --scopes campaign:ecm-2024 --ttl 8h [--sub screen-1] [--kid k2] [--json]
 * npm run token -- --verify <token>
 *
 * Mints a gateway access token with the first key of GATEWAY_TOKEN_SECRETS (or --kid).
 * The token alone goes to stdout (for scripts), a summary to stderr. Exit 2 on bad usage
 * or configuration, 1 when --verify finds the token invalid.
 */
const USAGE = `usage: npm run token -- --role ${ROLES.join('|')} [--scopes <pattern,…>] [--ttl 8h] [--sub <name>] [--kid <kid>] [--json]
       npm run token -- --verify <token>
  --scopes  comma-separated: * | <kind>:* | an exact scope (campaign:ecm-2024, district:Luohu, all);
            required for readers, default * for admin and engineer
  --ttl     90s, 15m, 8h, 30d or seconds (default 8h, at most 366d)
  GATEWAY_TOKEN_SECRETS must hold the gateway's secrets (kid:secret,…); the first signs.`;

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

let args: ReturnType<typeof parse>;
const parse = () =>
  parseArgs({
    options: {
      role: { type: 'string' },
      scopes: { type: 'string' },
      ttl: { type: 'string', default: '8h' },
      sub: { type: 'string' },
      kid: { type: 'string' },
      json: { type: 'boolean', default: false },
      verify: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
try {
  args = parse();
} catch (err) {
  usage((err as Error).message);
}
const v = args.values;
if (v.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const keys = loadTokenKeys();

if (v.verify !== undefined) {
  const result = verifyToken(v.verify.trim(), keys, { now: Date.now(), clockSkewSeconds: 0 });
  process.stdout.write(
    `${JSON.stringify(result.ok ? { valid: true, claims: result.claims, expires: new Date(result.claims.exp * 1000).toISOString() } : { valid: false, reason: result.reason })}\n`,
  );
  process.exit(result.ok ? 0 : 1);
}

if (!v.role || !ROLES.includes(v.role as Role)) usage(`--role must be one of ${ROLES.join(', ')}`);
const role = v.role as Role;
if (role === 'reader' && !v.scopes) usage('--scopes is required for readers (e.g. --scopes campaign:ecm-2024)');
const scopes = (v.scopes ?? '*')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of scopes) {
  const problem = checkScopePattern(s);
  if (problem) usage(`--scopes: ${problem}`);
}
const ttlSeconds = parseTtl(v.ttl);
if (ttlSeconds === undefined)
  usage(`--ttl ${JSON.stringify(v.ttl)} is not a duration such as 90s, 15m, 8h or 30d (at most 366d)`);
const key = v.kid === undefined ? keys[0]! : keys.find((k) => k.kid === v.kid);
if (!key)
  usage(
    `--kid ${JSON.stringify(v.kid)} is not in GATEWAY_TOKEN_SECRETS (known: ${keys.map((k) => k.kid ?? '(unnamed)').join(', ')})`,
  );
const sub = v.sub ?? `cli-${role}`;
const now = Date.now();
const problem = checkClaims({
  sub,
  role,
  scopes,
  iat: Math.floor(now / 1000),
  exp: Math.floor(now / 1000) + ttlSeconds,
  kid: key.kid,
});
if (problem) usage(problem);

const token = mintToken({ sub, role, scopes, ttlSeconds, now }, key);
const expires = new Date((Math.floor(now / 1000) + ttlSeconds) * 1000).toISOString();
if (v.json) {
  process.stdout.write(`${JSON.stringify({ token, sub, role, scopes, kid: key.kid ?? null, expires })}\n`);
} else {
  process.stderr.write(
    `${role} token for ${sub}, scopes ${scopes.join(',')}, key ${key.kid ?? '(unnamed)'}, expires ${expires}\n`,
  );
  process.stdout.write(`${token}\n`);
}
