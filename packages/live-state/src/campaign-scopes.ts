import type { AnyRedis } from './cluster/redis-client';
import { DEFAULT_KEY_PREFIX } from './keys';

/**
 * A campaign's live figures are stored under a scope named by the backfill generation
 * that built them (ADR 0003, "Campaign catalogue and backfill"): `campaign:<id>` until
 * its first backfill swapped in, `campaign:<id>@<gen>` after. The catalogue's pointer
 * (`<prefix>:{campaigns}:live`, id → generation) says which; the swap moves it in one
 * script in the campaign slot, so a reader resolves one name and sums that name's shares
 * only: never old shares of one partition with new shares of another.
 */
export function campaignLivePointerKey(prefix = DEFAULT_KEY_PREFIX): string {
  return `${prefix}:{campaigns}:live`;
}

const CAMPAIGN = 'campaign:';

/** The stored scope of a campaign generation (`undefined` or '' = the campaign's first figures). */
export function generationScope(id: string, gen?: string | null): string {
  return gen ? `${CAMPAIGN}${id}@${gen}` : `${CAMPAIGN}${id}`;
}

/** The campaign id of a logical campaign scope (`campaign:<id>`), or null for any other scope. */
function campaignIdOf(scope: string): string | null {
  return scope.startsWith(CAMPAIGN) && !scope.includes('@') && !scope.endsWith('~staging')
    ? scope.slice(CAMPAIGN.length)
    : null;
}

/** The logical scope of a stored one: `campaign:<id>@<gen>` → `campaign:<id>`; others unchanged. */
export function logicalScope(stored: string): string {
  if (!stored.startsWith(CAMPAIGN)) return stored;
  const at = stored.indexOf('@');
  return at < 0 ? stored : stored.slice(0, at);
}

/**
 * The stored scope of each scope (readers' names: `campaign:<id>` resolved through the
 * live pointer, every other scope as it is). One HMGET on the campaign slot when any
 * campaign scope is asked for, none otherwise.
 */
export async function resolveLiveScopes(
  redis: AnyRedis,
  scopes: readonly string[],
  prefix = DEFAULT_KEY_PREFIX,
): Promise<string[]> {
  const ids = scopes.map(campaignIdOf);
  const asked = [...new Set(ids.filter((id): id is string => id !== null))];
  if (asked.length === 0) return [...scopes];
  const gens = await redis.hmget(campaignLivePointerKey(prefix), ...asked);
  const byId = new Map(asked.map((id, i) => [id, gens[i]]));
  return scopes.map((s, i) => (ids[i] === null ? s : generationScope(ids[i]!, byId.get(ids[i]!))));
}
