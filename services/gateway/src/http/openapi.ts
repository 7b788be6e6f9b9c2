import type { FastifyInstance, RouteOptions } from 'fastify';

// The documentation fields route schemas may carry (fastify ignores them; the generator publishes them).
declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    deprecated?: boolean;
    /** Leave the route out of the document. */
    hide?: boolean;
    'x-required-role'?: string;
  }
}

/** What the generator needs of a route, captured by an onRoute hook as routes are added. */
export interface CollectedRoute {
  method: string;
  url: string;
  schema?: Record<string, unknown>;
  websocket: boolean;
}

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<string, string> = {
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** Starts collecting; call before any route is registered. The returned list fills as routes are added. */
export function collectRoutes(app: FastifyInstance): CollectedRoute[] {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions & { websocket?: boolean }) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue; // fastify adds HEAD for every GET
      routes.push({
        method: method.toLowerCase(),
        url: route.url,
        schema: route.schema as Json | undefined,
        websocket: route.websocket === true,
      });
    }
  });
  return routes;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  /** Documentation for routes that carry no schema of their own, by "METHOD url". */
  extra?: Record<string, Json>;
  security?: SecurityDoc;
  /** Responses a route may give whatever its schema says (429 of the rate limit), in OpenAPI form; none where undefined. */
  commonResponses?(method: string, url: string): Record<string, Json> | undefined;
}

/** How routes are protected: one scheme for all, some routes open, roles per route. */
export interface SecurityDoc {
  schemes: Record<string, Json>;
  description: string;
  isOpen(method: string, url: string): boolean;
  /** Roles a route accepts; undefined means any valid token. */
  roles(method: string, url: string): readonly string[] | undefined;
  /** Error responses every protected route may answer (401, 403), added where a route does not list its own. */
  refusals: Record<number, object>;
}

/** An OpenAPI 3.0 document from the collected routes' fastify schemas. */
export function buildOpenApi(routes: readonly CollectedRoute[], info: OpenApiInfo): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    const schema = {
      ...(route.schema ?? {}),
      ...(info.extra?.[`${route.method.toUpperCase()} ${route.url}`] ?? {}),
    } as Json;
    if (schema.hide === true) continue;
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const op: Json = { operationId: operationId(route.method, route.url) };
    for (const key of ['summary', 'description', 'tags', 'deprecated'] as const)
      if (schema[key] !== undefined) op[key] = schema[key];
    for (const [key, value] of Object.entries(schema)) if (key.startsWith('x-')) op[key] = value;
    for (const tag of (schema.tags as string[] | undefined) ?? []) tags.add(tag);
    const parameters = [
      ...toParameters(schema.params as Json | undefined, 'path'),
      ...toParameters(schema.querystring as Json | undefined, 'query'),
    ];
    if (parameters.length > 0) op.parameters = parameters;
    if (schema.body)
      op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(schema.body) } } };
    op.responses = toResponses(schema.response as Json | undefined, route.websocket);
    if (info.security) secure(op, route, info.security);
    for (const [status, response] of Object.entries(info.commonResponses?.(route.method, route.url) ?? {}))
      (op.responses as Json)[status] ??= response;
    (paths[path] ??= {})[route.method] = op;
  }
  const sorted = Object.fromEntries(
    Object.keys(paths)
      .sort()
      .map((p) => [p, paths[p]!]),
  );
  return {
    openapi: '3.0.3',
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    tags: [...tags].sort().map((name) => ({ name })),
    paths: sorted,
    ...(info.security
      ? { components: { securitySchemes: info.security.schemes }, 'x-security-note': info.security.description }
      : {}),
  };
}

function secure(op: Json, route: CollectedRoute, security: SecurityDoc): void {
  if (security.isOpen(route.method, route.url)) {
    op.security = [];
    return;
  }
  op.security = Object.keys(security.schemes).map((name) => ({ [name]: [] }));
  const roles = security.roles(route.method, route.url);
  if (op['x-required-role'] === undefined && roles) op['x-required-role'] = roles.join(' or ');
  const responses = op.responses as Json;
  for (const [status, schema] of Object.entries(toResponses(security.refusals, false))) responses[status] ??= schema;
}

function toParameters(schema: Json | undefined, where: 'path' | 'query'): Json[] {
  const props = (schema?.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: toSchema(rest),
    };
  });
}

function toResponses(response: Json | undefined, websocket: boolean): Json {
  const out: Json = {};
  for (const [status, raw] of Object.entries(response ?? {})) {
    const s = raw as Json;
    const description = (s.description as string | undefined) ?? STATUS_TEXT[status] ?? 'Response';
    if (s.content) {
      // fastify's per-content-type form: { content: { 'text/plain': { schema } } }
      const content = Object.fromEntries(
        Object.entries(s.content as Record<string, Json>).map(([type, c]) => [type, { schema: toSchema(c.schema) }]),
      );
      out[status] = { description, content };
    } else {
      const { description: _omit, ...body } = s;
      out[status] = { description, content: { 'application/json': { schema: toSchema(body) } } };
    }
  }
  if (websocket && !out['101'])
    out['101'] = { description: 'Switching Protocols: the connection is upgraded to a WebSocket' };
  if (Object.keys(out).length === 0) out.default = { description: 'Response' };
  return out;
}

/** JSON Schema (draft-07, as fastify takes it) to the OpenAPI 3.0 schema subset. */
export function toSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSchema);
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value as Json)) {
    if (key === '$id' || key === '$schema') continue;
    if (key === 'const') out.enum = [v];
    else if (key === 'examples' && Array.isArray(v)) out.example = v[0];
    else if (key === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null');
      if (types.length === 1) out.type = types[0];
      if (types.length < v.length) out.nullable = true;
    } else if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(v as Json).map(([k, p]) => [k, toSchema(p)]));
    } else out[key] = toSchema(v);
  }
  return out;
}

function operationId(method: string, url: string): string {
  const words = url.split(/[/:{}._-]+/).filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}
