import type { CatalogChange } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { collect, eventOf, readUntil, testBroker, typesOf } from './broker-helpers.js';
import { callFromCode, recordingLogger, waitUntil } from './catalog-helpers.js';
import { readFixture, startOpenApiService } from './open-api-test-service.js';

function clockDocument(operations: string[]): object {
  const paths: Record<string, unknown> = {};
  for (const operation of operations) {
    paths[`/${operation}`] = { get: { operationId: operation, responses: { 200: { description: 'ok' } } } };
  }
  return { openapi: '3.0.3', info: { title: 'clock', version: '1' }, paths };
}

describe('catalog polling', () => {
  it('polls with If-None-Match; a 304 changes nothing', async () => {
    await using service = await startOpenApiService({ validators: 'etag' });
    service.setSpec(readFixture('users-3.0.yaml'));
    const broker = testBroker({ openApiSources: [{ name: 'user-service', url: service.specUrl }] });
    await broker.catalog.ready();
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    const before = broker.catalog.getCatalog();
    await broker.catalog.refresh();
    await broker.catalog.refresh();
    expect(service.specRequests.map((request) => request.headers['if-none-match'])).toEqual([
      undefined,
      '"v1"',
      '"v1"',
    ]);
    expect(service.notModified).toBe(2);
    const after = broker.catalog.getCatalog();
    expect(after.version).toBe(before.version);
    expect(after.actions).toEqual(before.actions);
    expect(Date.parse(after.services[0]?.lastUpdated ?? '')).toBeGreaterThanOrEqual(
      Date.parse(before.services[0]?.lastUpdated ?? ''),
    );
    expect(changes).toEqual([]);
  });

  it('polls with If-Modified-Since when the service gives Last-Modified', async () => {
    await using service = await startOpenApiService({ validators: 'last-modified' });
    service.setSpec(readFixture('users-3.0.yaml'));
    const broker = testBroker({ openApiSources: [{ name: 'user-service', url: service.specUrl }] });
    await broker.catalog.ready();
    await broker.catalog.refresh();
    expect(service.specRequests[1]?.headers['if-modified-since']).toBe('Thu, 01 Jan 2026 00:00:01 GMT');
    expect(service.notModified).toBe(1);
  });

  it('re-polls every pollInterval by itself', async () => {
    await using service = await startOpenApiService();
    service.setSpec(clockDocument(['now']));
    testBroker({ openApiSources: [{ name: 'clock', url: service.specUrl, pollInterval: 100 }] });
    await waitUntil(() => service.notModified >= 2, 'two conditional polls');
    expect(service.specRequests.length).toBeGreaterThanOrEqual(3);
  });

  it('gains and loses tools while a session runs, which receives catalog_changed', async () => {
    await using service = await startOpenApiService();
    service.setSpec(clockDocument(['now', 'legacyTime']));
    service.route('GET', '/now', () => ({ body: 'now' }));
    service.route('GET', '/utcOffset', () => ({ body: 120 }));
    const broker = testBroker({ openApiSources: [{ name: 'clock', url: service.specUrl }] });
    await broker.catalog.ready();
    const versionBefore = broker.catalog.getCatalog().version;
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    // The code waits for a client-answered tool, during which the document changes.
    const iterator = broker
      .execute(`
        const first = await tools.clock_now();
        await tools.waitForTheChange({});
        let legacy;
        try { await tools.clock_legacyTime(); } catch (error) { legacy = error.code; }
        return [first, await tools.clock_utcOffset(), legacy];
      `)
      [Symbol.asyncIterator]();
    const untilWait = await readUntil(
      iterator,
      (event) => event.type === 'tool_call' && event.payload.toolName === 'waitForTheChange',
    );
    const sessionId = untilWait[0]?.sessionId as string;
    service.setSpec(clockDocument(['now', 'utcOffset']));
    await broker.catalog.refresh();
    const version = broker.catalog.getCatalog().version;
    expect(version).not.toBe(versionBefore);
    expect(changes).toEqual([
      {
        version,
        addedActions: ['clock_utcOffset'],
        removedActions: ['clock_legacyTime'],
        updatedActions: [],
      },
    ]);
    expect(broker.tools.has('clock_utcOffset')).toBe(true);
    expect(broker.tools.has('clock_legacyTime')).toBe(false);
    const waitCall = untilWait.at(-1) as Extract<(typeof untilWait)[number], { type: 'tool_call' }>;
    // The removed tool now goes to the client: this test answers it as a client that does not know it.
    const rest: typeof untilWait = [];
    await broker.submitToolResult(sessionId, waitCall.payload.callId, null);
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      rest.push(next.value);
      if (next.value.type === 'tool_call' && next.value.payload.toolName === 'clock_legacyTime') {
        expect(next.value.payload.answeredBy).toBe('client');
        await broker.submitToolResult(sessionId, next.value.payload.callId, undefined, {
          code: 'TOOL_NOT_FOUND',
          message: 'unknown tool',
        });
      }
    }
    const all = [...untilWait, ...rest];
    expect(eventOf(all, 'catalog_changed').payload).toEqual(changes[0]);
    expect(typesOf(all).filter((type) => type === 'catalog_changed')).toHaveLength(1);
    expect(eventOf(all, 'final').payload).toMatchObject({ ok: true, result: ['now', 120, 'TOOL_NOT_FOUND'] });
    // A session started afterwards gets no catalog_changed.
    const later = await collect(broker.execute('return await tools.clock_utcOffset()'));
    expect(typesOf(later)).not.toContain('catalog_changed');
  });

  it('reports an updated action when only its description or schema changes', async () => {
    await using service = await startOpenApiService();
    service.setSpec(clockDocument(['now']));
    const broker = testBroker({ openApiSources: [{ name: 'clock', url: service.specUrl }] });
    await broker.catalog.ready();
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    const changed = clockDocument(['now']) as { paths: Record<string, { get: Record<string, unknown> }> };
    (changed.paths['/now'] as { get: Record<string, unknown> }).get.summary = 'The time now';
    service.setSpec(changed);
    await broker.catalog.refresh();
    expect(changes).toEqual([
      {
        version: broker.catalog.getCatalog().version,
        addedActions: [],
        removedActions: [],
        updatedActions: ['clock_now'],
      },
    ]);
    expect(broker.tools.get('clock_now')?.description).toBe('The time now');
  });

  it('announces the first load as a change from the empty catalog', async () => {
    await using service = await startOpenApiService();
    service.setSpec(clockDocument(['now']));
    const broker = testBroker({ openApiSources: [{ name: 'clock', url: service.specUrl }] });
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    await broker.catalog.ready();
    expect(changes).toEqual([
      {
        version: broker.catalog.getCatalog().version,
        addedActions: ['clock_now'],
        removedActions: [],
        updatedActions: [],
      },
    ]);
  });

  it('starts with a source that cannot be reached, lists its error, and retries with backoff until it loads', async () => {
    await using service = await startOpenApiService();
    service.failSpec(503);
    const logger = recordingLogger();
    const broker = testBroker({
      logger,
      openApiSources: [{ name: 'clock', url: service.specUrl, pollInterval: 200 }],
    });
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    // The broker runs sessions meanwhile.
    const events = await collect(broker.execute('return 1 + 1'));
    expect(eventOf(events, 'final').payload).toMatchObject({ ok: true, result: 2 });
    expect(broker.catalog.getCatalog().services).toEqual([
      {
        name: 'clock',
        specUrl: service.specUrl,
        lastUpdated: '',
        actionCount: 0,
        status: 'unavailable',
        error: {
          code: 'UPSTREAM_UNAVAILABLE',
          message: `GET ${service.specUrl} answered 503 Service Unavailable`,
        },
        kind: 'openapi',
      },
    ]);
    await waitUntil(() => service.specRequests.length >= 2, 'a retry');
    service.setSpec(clockDocument(['now']));
    await waitUntil(() => changes.length === 1, 'the source loads on a retry');
    expect(changes[0]).toMatchObject({ addedActions: ['clock_now'], removedActions: [] });
    expect(broker.catalog.getCatalog().services[0]).toMatchObject({ status: 'ok', actionCount: 1 });
    expect(broker.catalog.getCatalog().services[0]).not.toHaveProperty('error');
  });

  it('lists a source on a closed port as unavailable without stopping the broker', async () => {
    const closed = await startOpenApiService();
    const url = closed.specUrl;
    await closed.close();
    const broker = testBroker({ logger: recordingLogger(), openApiSources: [{ name: 'gone', url }] });
    await broker.catalog.ready();
    expect(broker.catalog.getCatalog().services[0]).toMatchObject({
      status: 'unavailable',
      error: { code: 'UPSTREAM_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') },
    });
    expect(eventOf(await collect(broker.execute('return "still running"')), 'final').payload.ok).toBe(true);
  });

  it('keeps the last good actions when a later poll fails, and says so', async () => {
    await using service = await startOpenApiService();
    service.setSpec(clockDocument(['now']));
    service.route('GET', '/now', () => ({ body: 'now' }));
    const broker = testBroker({
      logger: recordingLogger(),
      openApiSources: [{ name: 'clock', url: service.specUrl }],
    });
    await broker.catalog.ready();
    const good = broker.catalog.getCatalog();
    service.failSpec(500);
    await broker.catalog.refresh();
    const failing = broker.catalog.getCatalog();
    expect(failing.version).toBe(good.version);
    expect(failing.actions).toEqual(good.actions);
    expect(failing.services[0]).toMatchObject({
      status: 'stale',
      lastUpdated: good.services[0]?.lastUpdated,
      actionCount: 1,
      error: { code: 'UPSTREAM_UNAVAILABLE' },
    });
    expect((await callFromCode(broker, 'tools.clock_now()')).outcome).toEqual({ ok: true, value: 'now' });
    // An invalid document is a failure too: the good actions stay.
    service.setSpec('not: [an, openapi, document');
    await broker.catalog.refresh();
    expect(broker.catalog.getCatalog().services[0]).toMatchObject({
      status: 'stale',
      error: { code: 'OPENAPI_INVALID' },
    });
    expect(broker.catalog.getCatalog().actions).toEqual(good.actions);
    // A 304 never confirms a bad document: the next good one is fetched in full.
    service.setSpec(clockDocument(['now', 'later']));
    await broker.catalog.refresh();
    expect(broker.catalog.getCatalog().services[0]).toMatchObject({ status: 'ok', actionCount: 2 });
  });

  it('gives equal catalogs equal versions, and versions that differ when actions differ', async () => {
    await using first = await startOpenApiService();
    await using second = await startOpenApiService();
    first.setSpec(clockDocument(['now']));
    second.setSpec(clockDocument(['now']));
    const one = testBroker({ openApiSources: [{ name: 'clock', url: first.specUrl }] });
    const two = testBroker({ openApiSources: [{ name: 'clock', url: second.specUrl, pollInterval: 5000 }] });
    await Promise.all([one.catalog.ready(), two.catalog.ready()]);
    expect(one.catalog.getCatalog().version).toBe(two.catalog.getCatalog().version);
    expect(one.catalog.getCatalog().version).toMatch(/^[0-9a-f]{64}$/);
    second.setSpec(clockDocument(['now', 'later']));
    await two.catalog.refresh();
    expect(two.catalog.getCatalog().version).not.toBe(one.catalog.getCatalog().version);
  });

  it('leaves out an action whose name a hand-registered tool already has, and removes its tools on close', async () => {
    await using service = await startOpenApiService();
    service.setSpec(clockDocument(['now', 'later']));
    const logger = recordingLogger();
    const broker = testBroker({ logger, openApiSources: [{ name: 'clock', url: service.specUrl }] });
    broker.tools.register({
      name: 'clock_now',
      description: 'mine',
      parameters: {},
      handler: async () => 'mine',
    });
    await broker.catalog.ready();
    expect(broker.catalog.getCatalog().actions.map((action) => action.name)).toEqual(['clock_later']);
    expect(broker.tools.get('clock_now')?.description).toBe('mine');
    expect(logger.lines.some((line) => line.includes('clock_now is left out'))).toBe(true);
    await broker.close();
    expect(broker.tools.has('clock_later')).toBe(false);
    expect(broker.tools.has('clock_now')).toBe(true);
  });
});
