import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { ANY_ERROR_SCHEMA } from '@livetally/http-errors';

declare module 'fastify' {
  interface FastifySchema {
    /** OpenAPI extensions (x-required-role…), copied into the route's operation. */
    [extension: `x-${string}`]: unknown;
  }
}

/** Where the document is served; open to everyone, like the UI. */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PREFIX = '/docs';

/**
 * Every route @fastify/swagger-ui registers under DOCS_PREFIX (the page, its configuration
 * script, the document again as JSON and YAML, and the static bundle). Access control
 * opens exactly these; a test checks the plugin registers no other.
 */
export const DOCS_UI_ROUTES: readonly string[] = [
  DOCS_PREFIX,
  `${DOCS_PREFIX}/`,
  `${DOCS_PREFIX}/static/index.html`,
  `${DOCS_PREFIX}/static/swagger-initializer.js`,
  `${DOCS_PREFIX}/json`,
  `${DOCS_PREFIX}/yaml`,
  `${DOCS_PREFIX}/static/*`,
];

/**
 * The policy of the /docs pages only. Swagger UI loads its bundle, styles and the document
 * from this origin and shows its logo as a data: URL; nothing inline runs, nothing loads from
 * elsewhere, and no other page is framed or framed in. Every other response keeps the
 * service's own (stricter) policy.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type SecuritySchemes = NonNullable<
  NonNullable<FastifyDynamicSwaggerOptions['openapi']>['components']
>['securitySchemes'];

export interface DocumentedRoute {
  method: string;
  /** fastify's pattern, e.g. /v1/campaigns/:id */
  url: string;
  schema: FastifySchema;
}

export interface OpenApiOptions {
  title: string;
  version: string;
  description: string;
  securitySchemes?: SecuritySchemes;
  /**
   * What the document says of a route beyond its own schema (security, answers every route
   * of a kind may give); it changes the document only, never how the route behaves.
   */
  document?(route: DocumentedRoute): FastifySchema;
}

/**
 * Generates the service's OpenAPI 3.0 document from its route schemas (@fastify/swagger)
 * and serves it at GET /openapi.json. Call before any route is added: routes are collected
 * as they are registered. Every operation gets an operationId and, unless the route lists
 * it, a `default` answer in the shared error body.
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: options.title, version: options.version, description: options.description },
      components: { securitySchemes: options.securitySchemes ?? {} },
    },
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0]!;
      const documented = options.document?.({ method, url, schema: schema ?? {} }) ?? schema ?? {};
      return {
        url,
        schema: {
          operationId: operationId(method, url),
          ...documented,
          // @fastify/websocket hides its routes; the document keeps their upgrade (101 and the refusals).
          ...(route.websocket ? { hide: false } : {}),
          response: { ...(documented.response as object | undefined), default: ANY_ERROR_SCHEMA },
        },
      };
    },
    transformObject: (documentObject) => sorted((documentObject as { openapiObject: OpenApiDocument }).openapiObject),
  });

  let text: string | undefined;
  app.get(
    OPENAPI_PATH,
    {
      schema: {
        summary: 'This API as an OpenAPI 3.0 document',
        tags: ['meta'],
        response: {
          200: {
            description: 'OpenAPI 3.0.3 document, generated from the route schemas',
            type: 'object',
            additionalProperties: true,
          },
        },
      },
    },
    async (_request, reply) =>
      reply.type('application/json; charset=utf-8').send((text ??= JSON.stringify(app.swagger()))),
  );
}

/**
 * Swagger UI at /docs, showing the generated document. Call after the service's hooks are
 * in place (the UI's routes live in a plugin of their own, which takes the hooks that exist
 * when it is registered); its own onSend hook then replaces the Content-Security-Policy
 * with DOCS_CONTENT_SECURITY_POLICY on its routes only.
 */
export async function registerDocsUi(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    // No call to the public validator badge service: nothing leaves the page's origin. No top
    // bar either: its logo is an SVG with an inline <style>, which the CSP refuses, and its
    // box for loading other documents has nothing to offer here.
    uiConfig: { validatorUrl: null, deepLinking: true, layout: 'BaseLayout' },
    staticCSP: DOCS_CONTENT_SECURITY_POLICY,
  });
}

type OpenApiDocument = { paths?: Record<string, Record<string, { tags?: string[] }>>; tags?: { name: string }[] };

/** Paths in order, and the top-level tag list from the tags the operations use. */
function sorted(doc: OpenApiDocument): OpenApiDocument {
  const paths = doc.paths ?? {};
  const tags = new Set(Object.values(paths).flatMap((ops) => Object.values(ops).flatMap((op) => op.tags ?? [])));
  return {
    ...doc,
    tags: [...tags].sort().map((name) => ({ name })),
    paths: Object.fromEntries(
      Object.keys(paths)
        .sort()
        .map((p) => [p, paths[p]!]),
    ),
  };
}

/** getV1CampaignsIdHistory (getRoot for /): unique per method and route, stable across releases. */
export function operationId(method: string, url: string): string {
  const words = url.split(/[/:{}._*-]+/).filter(Boolean);
  return method.toLowerCase() + (words.length ? words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') : 'Root');
}
