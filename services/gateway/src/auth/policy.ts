import { DOCS_UI_ROUTES } from '@livetally/api-docs';
import { canonicalScope, scopeAllowed } from './scopes';
import type { Role, TokenClaims } from './token';

/**
 * Who may do what, as one table (GATEWAY_AUTH=on). Every route needs a rule: a route
 * without one is refused, so a new route cannot be exposed by forgetting this file.
 *
 *   open                 GET /, /healthz, /readyz, /openapi.json, /asyncapi.json, /docs and its assets (and /metrics with GATEWAY_METRICS_PUBLIC)
 *   any role, by scope   GET /v1/totals/:scope, /v1/history/* (?scope=, default all; /rank needs all),
 *                        GET /v1/campaigns/:id[/history|/rankings] (campaign:<id>),
 *                        GET /v1/campaigns (listed: only the campaigns the token covers),
 *                        GET /v1/live (each subscription is checked: see channelScope)
 *   admin, by scope      POST /v1/campaigns (campaign:<body id>), PUT /v1/campaigns/:id, POST /v1/campaigns/:id/end
 *   engineer             POST /v1/sql
 *   admin or engineer    GET /metrics
 */
export interface RouteTarget {
  method: string;
  /** The route pattern (fastify's routeOptions.url); undefined when no route matched. */
  route: string | undefined;
  params: Record<string, string | undefined>;
  query: Record<string, unknown>;
}

export interface Rule {
  open?: boolean;
  /** Roles allowed; absent = every role. */
  roles?: readonly Role[];
  /** The scope the request reads or changes, which the token's scopes must cover. */
  scope?(target: RouteTarget): string;
  /** Same, from the parsed body (checked once the body has been read). */
  bodyScope?(body: unknown): string | undefined;
}

export interface PolicyOptions {
  /** GET /metrics without a token (GATEWAY_METRICS_PUBLIC). */
  metricsPublic: boolean;
}

export type Decision = { ok: true } | { ok: false; message: string };

const OPEN: Rule = { open: true };
const campaign = (t: RouteTarget) => `campaign:${t.params.id ?? ''}`;
const queryScope = (t: RouteTarget) => (typeof t.query.scope === 'string' ? t.query.scope : 'all');
const ADMIN: readonly Role[] = ['admin'];

export const RULES: Readonly<Record<string, Rule>> = {
  'GET /': OPEN,
  'GET /healthz': OPEN,
  'GET /readyz': OPEN,
  'GET /openapi.json': OPEN,
  'GET /asyncapi.json': OPEN,
  // Swagger UI: its page, script, styles and the same document; no data.
  ...Object.fromEntries(DOCS_UI_ROUTES.map((route) => [`GET ${route}`, OPEN])),
  'GET /metrics': { roles: ['admin', 'engineer'] },
  'GET /v1/totals/:scope': { scope: (t) => t.params.scope ?? '' },
  'GET /v1/live': {},
  'GET /v1/history/totals': { scope: queryScope },
  'GET /v1/history/series': { scope: queryScope },
  'GET /v1/history/top': { scope: queryScope },
  // A member's rank is relative to every other member: national data.
  'GET /v1/history/rank': { scope: () => 'all' },
  'GET /v1/campaigns': {},
  'GET /v1/campaigns/:id': { scope: campaign },
  'GET /v1/campaigns/:id/history': { scope: campaign },
  'GET /v1/campaigns/:id/rankings': { scope: campaign },
  'POST /v1/campaigns': {
    roles: ADMIN,
    bodyScope: (b) =>
      typeof (b as { id?: unknown } | null)?.id === 'string' ? `campaign:${(b as { id: string }).id}` : undefined,
  },
  'PUT /v1/campaigns/:id': { roles: ADMIN, scope: campaign },
  'POST /v1/campaigns/:id/end': { roles: ADMIN, scope: campaign },
  'POST /v1/sql': { roles: ['engineer'] },
};

/** The rule for a request; undefined route (404) is open so the not-found answer is unchanged. */
export function ruleFor(method: string, route: string | undefined, options: PolicyOptions): Rule | undefined {
  if (route === undefined) return OPEN;
  const key = `${method === 'HEAD' ? 'GET' : method} ${route}`;
  if (key === 'GET /metrics' && options.metricsPublic) return OPEN;
  return RULES[key];
}

/** Decides a request made with valid claims (the body scope is checked separately, once the body is read). */
export function decide(claims: TokenClaims, rule: Rule | undefined, target: RouteTarget): Decision {
  if (!rule) return { ok: false, message: `no access rule covers ${target.method} ${target.route ?? ''}` };
  if (rule.open) return { ok: true };
  if (rule.roles && !rule.roles.includes(claims.role))
    return { ok: false, message: `this needs the ${rule.roles.join(' or ')} role; the token has ${claims.role}` };
  return rule.scope ? checkScope(claims, rule.scope(target)) : { ok: true };
}

export function checkScope(claims: TokenClaims, scope: string | undefined): Decision {
  if (scope === undefined || scopeAllowed(claims.scopes, scope)) return { ok: true };
  return {
    ok: false,
    message: `the token does not cover ${JSON.stringify(canonicalScope(scope) ?? scope.slice(0, 140))}`,
  };
}

/** Roles a route is limited to, for documentation (OpenAPI x-required-role); undefined = any role. */
export function rolesFor(method: string, route: string): readonly Role[] | undefined {
  return RULES[`${method.toUpperCase()} ${route}`]?.roles;
}
