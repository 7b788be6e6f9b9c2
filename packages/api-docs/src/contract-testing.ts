import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';

/**
 * Checks of a service's generated OpenAPI document for its tests: the document is valid,
 * it lists every route, and real answers match the schemas it publishes. Test code only.
 */

type Json = Record<string, unknown>;
type Operation = { responses: Record<string, { content?: Record<string, { schema?: Json }> }> };
export type OpenApiDoc = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** Throws with the validator's message unless `doc` is a valid OpenAPI document (it is not modified). */
export async function assertValidOpenApi(doc: unknown): Promise<void> {
  await SwaggerParser.validate(structuredClone(doc) as Parameters<typeof SwaggerParser.validate>[0]);
}

/** "GET /v1/campaigns/{id}" for every operation of the document. */
export function documentedOperations(doc: OpenApiDoc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/**
 * "GET /v1/campaigns/{id}" for every route fastify has, read from its own route tree
 * (printRoutes), without HEAD (fastify adds one per GET) and without the routes under
 * `except` (such as the documentation UI's own pages).
 */
export function registeredOperations(app: FastifyInstance, except: (url: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const labels: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const at = line.indexOf('── ');
    if (at < 0) continue;
    const depth = (at - 1) / 4;
    const match = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(at + 3))!;
    labels.length = depth;
    labels.push(match[1]!);
    const url = labels.join('');
    for (const method of match[2]?.split(', ') ?? [])
      if (method !== 'HEAD' && !except(url)) out.push(`${method} ${url.replace(/:(\w+)/g, '{$1}')}`);
  }
  return out.sort();
}

/**
 * Validates answers against the document: the JSON schema of an operation's status (or
 * its `default`). Objects are checked closed (no property the document does not name),
 * so an undocumented field fails as surely as a missing one.
 */
export function answerChecker(doc: OpenApiDoc): (method: string, path: string, status: number, body: unknown) => void {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const cache = new Map<string, ValidateFunction>();
  return (method, path, status, body) => {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`the document has no ${method} ${path}`);
    const key = `${method} ${path} ${status}`;
    let validate = cache.get(key);
    if (!validate) {
      const response = op.responses[String(status)] ?? op.responses.default;
      const schema = response?.content?.['application/json']?.schema;
      if (!schema) throw new Error(`the document has no JSON answer ${status} for ${method} ${path}`);
      validate = ajv.compile(closed(schema));
      cache.set(key, validate);
    }
    if (!validate(body))
      throw new Error(`${key}: the answer does not match the document: ${ajv.errorsText(validate.errors)}`);
  };
}

/** A copy of a schema whose object types with listed properties allow no others (unless they say so). */
export function closed(schema: unknown): Json {
  if (Array.isArray(schema)) return schema.map(closed) as unknown as Json;
  if (typeof schema !== 'object' || schema === null) return schema as Json;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' || key === 'patternProperties')
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, closed(v)]));
    else out[key] = typeof value === 'object' ? closed(value) : value;
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}
