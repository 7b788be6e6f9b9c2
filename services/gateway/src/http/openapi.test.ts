import { describe, expect, it } from 'vitest';
import { FakeHistory, FakeSql, makeApiApp } from '../testing/api-fakes';
import { toSchema } from './openapi';

type Op = {
  operationId: string;
  summary?: string;
  parameters?: { name: string; in: string; required: boolean; schema: object }[];
  requestBody?: unknown;
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  [k: string]: unknown;
};

describe('GET /openapi.json', () => {
  it('documents every route from its schemas', async () => {
    const app = await makeApiApp({ history: new FakeHistory(), sql: new FakeSql() });
    const res = await app.inject('/openapi.json');
    await app.close();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    const doc = res.json() as { openapi: string; info: { title: string }; paths: Record<string, Record<string, Op>> };
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.title).toBe('LiveTally gateway');
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(ops.sort()).toEqual(
      [
        'GET /',
        'GET /healthz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /readyz',
        'GET /v1/campaigns',
        'GET /v1/campaigns/{id}',
        'GET /v1/campaigns/{id}/history',
        'GET /v1/campaigns/{id}/rankings',
        'GET /v1/history/rank',
        'GET /v1/history/series',
        'GET /v1/history/top',
        'GET /v1/history/totals',
        'GET /v1/live',
        'GET /v1/totals/{scope}',
        'POST /v1/campaigns',
        'POST /v1/campaigns/{id}/end',
        'POST /v1/sql',
        'PUT /v1/campaigns/{id}',
      ].sort(),
    );

    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const op of Object.values(methods)) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        expect(op.summary, path).toBeTruthy();
        expect(Object.keys(op.responses).length, path).toBeGreaterThan(0);
        // Every {param} of the path is declared as a required path parameter.
        for (const [, name] of path.matchAll(/\{(\w+)\}/g))
          expect(op.parameters).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }));
      }
    }
    expect(JSON.stringify(doc)).not.toMatch(/"(const|\$id|\$schema)":/);

    const series = doc.paths['/v1/history/series']!.get!;
    expect(series.parameters).toContainEqual({
      name: 'granularity',
      in: 'query',
      required: true,
      description: expect.any(String),
      schema: { type: 'string', enum: ['minute', 'hour', 'day'] },
    });
    expect(series.responses['200']!.content!['application/json']!.schema).toMatchObject({
      properties: { buckets: { type: 'array' } },
    });
    expect(series.responses['400']!.content!['application/json']!.schema).toMatchObject({
      properties: {
        error: { properties: { code: { enum: expect.arrayContaining(['INVALID_RANGE', 'INVALID_SCOPE']) } } },
      },
    });

    const sql = doc.paths['/v1/sql']!.post!;
    expect(sql['x-required-role']).toBe('engineer');
    expect(sql.requestBody).toMatchObject({
      required: true,
      content: { 'application/json': { schema: { required: ['query'] } } },
    });
    expect(Object.keys(sql.responses).sort()).toEqual(['200', '400', '401', '403', '408', '503']);
    expect(doc.paths['/v1/campaigns']!.post!.responses['409']).toBeDefined();
    expect(doc.paths['/v1/campaigns/{id}']!.get!.responses['200']!.content!['application/json']!.schema).toMatchObject({
      properties: { pace: { type: 'object' } },
    });

    const live = doc.paths['/v1/live']!.get!;
    expect(live.responses['101']!.description).toContain('WebSocket');
    expect(live.description).toContain('"type":"subscribe"');
    expect(doc.paths['/metrics']!.get!.responses['200']!.content).toHaveProperty('text/plain');
    expect(doc.paths['/v1/totals/{scope}']!.get!.responses['200']!.content!['application/json']!.schema).toMatchObject({
      properties: { totals: { required: expect.arrayContaining(['salesFen']) } },
    });
  });

  it('converts draft-07 keywords to the OpenAPI 3.0 subset', () => {
    expect(
      toSchema({
        $id: 'x',
        type: ['integer', 'null'],
        const: 3,
        examples: [3, 4],
        properties: { type: { type: 'string' } },
      }),
    ).toEqual({
      type: 'integer',
      nullable: true,
      enum: [3],
      example: 3,
      properties: { type: { type: 'string' } },
    });
  });
});
