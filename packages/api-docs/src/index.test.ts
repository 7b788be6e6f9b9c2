import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { answerChecker, closed, registeredOperations, type OpenApiDoc } from './contract-testing';
import { DOCS_UI_ROUTES, operationId, registerDocsUi, registerOpenApi } from './index';

describe('registerOpenApi and registerDocsUi', () => {
  it('opens exactly the routes the UI plugin registers (the gateway opens DOCS_UI_ROUTES to everyone)', async () => {
    const app = Fastify();
    await registerOpenApi(app, { title: 't', version: '1', description: 'd' });
    await registerDocsUi(app);
    await app.ready();
    expect(registeredOperations(app, (url) => url === '/openapi.json')).toEqual(
      DOCS_UI_ROUTES.map((url) => `GET ${url}`).sort(),
    );
    await app.close();
  });

  it('adds an operationId and the shared error body as the default answer, and lets the service document more', async () => {
    const app = Fastify();
    await registerOpenApi(app, {
      title: 't',
      version: '1',
      description: 'd',
      document: ({ method, url, schema }) => ({ ...schema, 'x-route': `${method} ${url}` }),
    });
    app.get(
      '/v1/things/:id',
      { schema: { summary: 'A thing', response: { 200: { type: 'object' } } } },
      async () => ({}),
    );
    await registerDocsUi(app);
    const doc = (await app.inject('/openapi.json')).json() as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const op = doc.paths['/v1/things/{id}']!.get!;
    expect(op).toMatchObject({ operationId: 'getV1ThingsId', summary: 'A thing', 'x-route': 'GET /v1/things/:id' });
    expect(Object.keys(op.responses as object)).toEqual(['200', 'default']);
    expect(Object.keys(doc.paths).sort()).toEqual(['/openapi.json', '/v1/things/{id}']);
    expect(registeredOperations(app, (url) => url.startsWith('/docs'))).toEqual([
      'GET /openapi.json',
      'GET /v1/things/{id}',
    ]);
    await app.close();
  });
});

describe('operationId', () => {
  it('is the method and the path words in camel case', () => {
    expect(operationId('GET', '/v1/campaigns/:id/history')).toBe('getV1CampaignsIdHistory');
    expect(operationId('POST', '/v1/campaigns/:id/end')).toBe('postV1CampaignsIdEnd');
    expect(operationId('GET', '/openapi.json')).toBe('getOpenapiJson');
    expect(operationId('GET', '/')).toBe('getRoot');
  });
});

describe('answerChecker', () => {
  const doc: OpenApiDoc = {
    openapi: '3.0.3',
    paths: {
      '/x': {
        get: {
          responses: {
            200: {
              content: {
                'application/json': {
                  schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer', nullable: true } } },
                },
              },
            },
          },
        },
      },
    },
  };

  it('accepts what the document says, nullable included, and names what it refuses', () => {
    const check = answerChecker(doc);
    expect(() => check('GET', '/x', 200, { n: 1 })).not.toThrow();
    expect(() => check('GET', '/x', 200, { n: null })).not.toThrow();
    expect(() => check('GET', '/x', 200, {})).toThrow(/GET \/x 200.*must have required property 'n'/);
    expect(() => check('GET', '/x', 200, { n: 1, m: 2 })).toThrow(/must NOT have additional properties/);
    expect(() => check('GET', '/x', 404, {})).toThrow(/no JSON answer 404/);
    expect(() => check('POST', '/x', 200, {})).toThrow(/no POST \/x/);
  });

  it('closes object types only, so conditions and combinations still add properties', () => {
    expect(closed({ type: 'object', properties: { a: {} }, then: { properties: { b: {} } } })).toEqual({
      type: 'object',
      properties: { a: {} },
      additionalProperties: false,
      then: { properties: { b: {} } },
    });
    expect(closed({ type: 'object', properties: {}, additionalProperties: true }).additionalProperties).toBe(true);
  });
});
