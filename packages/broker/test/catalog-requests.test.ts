import { describe, expect, it } from 'vitest';
import { CatalogHandler } from '../src/catalog/catalog-handler.js';
import { ToolRegistry } from '../src/tools/tool-registry.js';
import type { ExecutionContext } from '../src/tools/tool-types.js';
import { readFixture, startOpenApiService } from './open-api-test-service.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function context(toolName: string): ExecutionContext {
  return {
    sessionId: 'ses_test',
    callId: 'call_1',
    toolName,
    context: {},
    signal: new AbortController().signal,
  };
}

const styles = {
  openapi: '3.0.3',
  info: { title: 'styles', version: '1' },
  paths: {
    '/items/{ids}': {
      post: {
        operationId: 'styled',
        parameters: [
          { name: 'ids', in: 'path', required: true, schema: { type: 'array', items: { type: 'integer' } } },
          { name: 'tag', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
          {
            name: 'pipes',
            in: 'query',
            style: 'pipeDelimited',
            explode: false,
            schema: { type: 'array', items: { type: 'string' } },
          },
          { name: 'where', in: 'query', content: { 'application/json': { schema: { type: 'object' } } } },
          { name: 'session', in: 'cookie', schema: { type: 'string' } },
          { name: 'id', in: 'query', schema: { type: 'string' } },
          { name: 'id', in: 'header', schema: { type: 'string' } },
        ],
        requestBody: {
          content: {
            'application/x-www-form-urlencoded': {
              schema: { type: 'object', properties: { name: { type: 'string' }, size: { type: 'integer' } } },
            },
          },
        },
        responses: { 200: { description: 'ok' } },
      },
    },
  },
};

describe('catalog requests', () => {
  it('serializes parameters as the document says: arrays, deepObject, JSON content, cookies, clashing names, form bodies', async () => {
    await using service = await startOpenApiService();
    service.setSpec(styles);
    service.route('POST', '/items/1,2', (request) => ({ body: { url: request.url } }));
    const registry = new ToolRegistry();
    await using catalog = new CatalogHandler(registry, [{ name: 'styles', url: service.specUrl }], {
      logger: silent,
    });
    await catalog.ready();
    expect(Object.keys(registry.getInputSchema('styles_styled')?.properties as object)).toEqual([
      'ids',
      'tag',
      'pipes',
      'where',
      'session',
      'query.id',
      'header.id',
      'body',
    ]);
    const result = await registry.call(
      'styles_styled',
      {
        ids: [1, 2],
        tag: ['a', 'b c'],
        pipes: ['x', 'y'],
        where: { color: 'red' },
        session: 'abc',
        'query.id': 'q1',
        'header.id': 'h1',
        body: { name: 'bolt', size: 3 },
      },
      context('styles_styled'),
    );
    expect(result).toEqual({
      url: '/items/1,2?tag=a&tag=b%20c&pipes=x|y&where=%7B%22color%22%3A%22red%22%7D&id=q1',
    });
    const request = service.calls[0];
    expect(request?.headers.cookie).toBe('session=abc');
    expect(request?.headers.id).toBe('h1');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.body).toBe('name=bolt&size=3');
  });

  it('sends deepObject queries, null as an empty value, and a +json body with its media type (OpenAPI 3.1)', async () => {
    await using service = await startOpenApiService();
    service.setSpec(readFixture('inventory-3.1.json'));
    service.route('GET', '/v2/items', (request) => ({ body: { url: request.url } }));
    service.route('PUT', '/v2/items/BOL-1', (request) => ({
      body: { type: request.headers['content-type'], body: JSON.parse(request.body) },
    }));
    const registry = new ToolRegistry();
    await using catalog = new CatalogHandler(registry, [{ name: 'inventory', url: service.specUrl }], {
      logger: silent,
    });
    await catalog.ready();
    await expect(
      registry.call(
        'inventory_searchItems',
        { tags: ['a', 'b'], filter: { color: 'red', size: 2 }, note: null },
        context('inventory_searchItems'),
      ),
    ).resolves.toEqual({ url: '/v2/items?tags=a&tags=b&filter%5Bcolor%5D=red&filter%5Bsize%5D=2&note=' });
    await expect(
      registry.call(
        'inventory_putItem',
        { sku: 'BOL-1', body: { name: 'bolt', quantity: 2 } },
        context('inventory_putItem'),
      ),
    ).resolves.toEqual({ type: 'application/merge-patch+json', body: { name: 'bolt', quantity: 2 } });
  });

  it('answers a declared JSON that does not parse with TOOL_ERROR, and an empty 200 with null', async () => {
    await using service = await startOpenApiService();
    service.setSpec({
      openapi: '3.0.3',
      info: { title: 'odd', version: '1' },
      paths: {
        '/broken': { get: { operationId: 'broken', responses: { 200: { description: 'ok' } } } },
        '/empty': { get: { operationId: 'empty', responses: { 200: { description: 'ok' } } } },
      },
    });
    service.route('GET', '/broken', () => ({
      body: '{"half',
      headers: { 'content-type': 'application/json' },
    }));
    service.route('GET', '/empty', () => ({ headers: { 'content-type': 'application/json' } }));
    const registry = new ToolRegistry();
    await using catalog = new CatalogHandler(registry, [{ name: 'odd', url: service.specUrl }], {
      logger: silent,
    });
    await catalog.ready();
    await expect(registry.call('odd_broken', {}, context('odd_broken'))).rejects.toMatchObject({
      code: 'TOOL_ERROR',
      message: 'odd_broken: GET /broken answered 200 with invalid JSON',
    });
    await expect(registry.call('odd_empty', {}, context('odd_empty'))).resolves.toBeNull();
  });
});
