import { describe, expect, it } from 'vitest';
import { checkScope, decide, ruleFor, RULES, type RouteTarget } from './policy';
import { checkScopePattern, scopeAllowed } from './scopes';
import type { Role, TokenClaims } from './token';

const claims = (role: Role, scopes: string[]): TokenClaims => ({ sub: 't', role, scopes, iat: 0, exp: 1 });
const CAMPAIGN_READER = claims('reader', ['campaign:ecm-2024']);
const target = (
  method: string,
  route: string,
  params: Record<string, string> = {},
  query: Record<string, unknown> = {},
): RouteTarget => ({ method, route, params, query });
const opts = { metricsPublic: false };
const allowed = (c: TokenClaims, t: RouteTarget) => decide(c, ruleFor(t.method, t.route, opts), t).ok;

describe('scope patterns', () => {
  it('accepts *, <kind>:* and canonical scopes only', () => {
    for (const ok of ['*', 'all', 'campaign:*', 'district:*', 'campaign:ecm-2024', "district:Bao'an", 'city:深圳'])
      expect(checkScopePattern(ok), ok).toBeUndefined();
    for (const bad of ['', 'all:*', 'planet:*', 'campaign:', 'campaign:ecm*', 'district:<b>', '**'])
      expect(checkScopePattern(bad), bad).toBeDefined();
  });

  it('matches exact scopes, kind wildcards and *', () => {
    expect(scopeAllowed(['campaign:ecm-2024'], 'campaign:ecm-2024')).toBe(true);
    expect(scopeAllowed(['campaign:ecm-2024'], 'campaign:ecm-2025')).toBe(false);
    expect(scopeAllowed(['campaign:ecm-2024'], 'all')).toBe(false);
    expect(scopeAllowed(['all'], 'district:Luohu')).toBe(false); // all is a scope, not a wildcard
    expect(scopeAllowed(['district:*'], 'district:Luohu')).toBe(true);
    expect(scopeAllowed(['district:*'], 'city:Shenzhen')).toBe(false);
    expect(scopeAllowed(['*'], 'stream:s-1')).toBe(true);
    // Malformed scopes are covered only by *.
    expect(scopeAllowed(['district:*'], 'district:')).toBe(false);
    expect(scopeAllowed(['*'], 'nonsense')).toBe(true);
  });
});

describe('access policy', () => {
  it('keeps probes, the dashboard page and the API document open; unknown routes stay 404', () => {
    for (const route of ['/', '/healthz', '/readyz', '/openapi.json'])
      expect(ruleFor('GET', route, opts)?.open, route).toBe(true);
    expect(ruleFor('HEAD', '/healthz', opts)?.open).toBe(true);
    expect(ruleFor('GET', undefined, opts)?.open).toBe(true);
    expect(ruleFor('GET', '/metrics', opts)?.open).toBeUndefined();
    expect(ruleFor('GET', '/metrics', { metricsPublic: true })?.open).toBe(true);
  });

  it('lets a campaign reader read its campaign and nothing else', () => {
    const ok = [
      target('GET', '/v1/totals/:scope', { scope: 'campaign:ecm-2024' }),
      target('GET', '/v1/campaigns/:id', { id: 'ecm-2024' }),
      target('GET', '/v1/campaigns/:id/history', { id: 'ecm-2024' }),
      target('GET', '/v1/campaigns/:id/rankings', { id: 'ecm-2024' }),
      target('GET', '/v1/campaigns'),
      target('GET', '/v1/live'),
    ];
    for (const t of ok) expect(allowed(CAMPAIGN_READER, t), `${t.route}`).toBe(true);
    const refused = [
      target('GET', '/v1/totals/:scope', { scope: 'all' }),
      target('GET', '/v1/totals/:scope', { scope: 'campaign:other' }),
      target('GET', '/v1/campaigns/:id', { id: 'other' }),
      target('GET', '/v1/history/totals'), // default scope all
      target('GET', '/v1/history/series', {}, { scope: 'district:Luohu' }),
      target('GET', '/v1/history/top', {}, { scope: 'campaign:other' }),
      target('GET', '/v1/history/rank', {}, { dimension: 'city', name: 'Shenzhen' }),
      target('POST', '/v1/campaigns'),
      target('PUT', '/v1/campaigns/:id', { id: 'ecm-2024' }),
      target('POST', '/v1/campaigns/:id/end', { id: 'ecm-2024' }),
      target('POST', '/v1/sql'),
      target('GET', '/metrics'),
    ];
    for (const t of refused)
      expect(allowed(CAMPAIGN_READER, t), `${t.method} ${t.route} ${JSON.stringify(t.query)}`).toBe(false);
  });

  it('gives campaign writes to admins within their scopes, SQL to engineers, metrics to both', () => {
    const admin = claims('admin', ['campaign:*']);
    expect(allowed(admin, target('PUT', '/v1/campaigns/:id', { id: 'x' }))).toBe(true);
    expect(allowed(claims('admin', ['campaign:a']), target('POST', '/v1/campaigns/:id/end', { id: 'b' }))).toBe(false);
    expect(allowed(admin, target('POST', '/v1/sql'))).toBe(false);
    expect(allowed(claims('engineer', ['*']), target('POST', '/v1/sql'))).toBe(true);
    expect(allowed(claims('engineer', ['*']), target('POST', '/v1/campaigns'))).toBe(false);
    expect(allowed(admin, target('GET', '/metrics'))).toBe(true);
    expect(allowed(claims('engineer', []), target('GET', '/metrics'))).toBe(true);
    // Creation names the campaign in the body, checked once it is parsed.
    const create = ruleFor('POST', '/v1/campaigns', opts)!;
    expect(checkScope(claims('admin', ['campaign:a']), create.bodyScope!({ id: 'a' })).ok).toBe(true);
    expect(checkScope(claims('admin', ['campaign:a']), create.bodyScope!({ id: 'b' }))).toEqual({
      ok: false,
      message: 'the token does not cover "campaign:b"',
    });
    expect(create.bodyScope!({})).toBeUndefined(); // no id: the campaign service answers 400
  });

  it('checks scopes in their canonical form and explains refusals', () => {
    const luohu = claims('reader', ['district:Luohu']);
    expect(allowed(luohu, target('GET', '/v1/history/totals', {}, { scope: 'district:Luohu' }))).toBe(true);
    expect(decide(luohu, ruleFor('POST', '/v1/sql', opts), target('POST', '/v1/sql'))).toEqual({
      ok: false,
      message: 'this needs the engineer role; the token has reader',
    });
  });

  it('refuses a route that has no rule', () => {
    expect(ruleFor('DELETE', '/v1/campaigns/:id', opts)).toBeUndefined();
    expect(decide(claims('engineer', ['*']), undefined, target('DELETE', '/v1/campaigns/:id')).ok).toBe(false);
    expect(Object.keys(RULES).every((k) => /^(GET|POST|PUT) \//.test(k))).toBe(true);
  });
});
