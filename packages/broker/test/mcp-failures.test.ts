import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CatalogChange, CatalogService } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type EnclaveBroker, type McpServerConfig } from '../src/index.js';
import { collect, testBroker, thrownBy } from './broker-helpers.js';
import { callFromCode, recordingLogger, SteppedSession } from './catalog-helpers.js';
import { startHttpMcpServer, stdioServer, unusedPort } from './mcp-test-servers.js';

/** Guest code that turns a call's failure into data: `await attempt(() => tools.x())`. */
const ATTEMPT = `
  const attempt = async (call) => {
    try {
      return { ok: true, value: await call() };
    } catch (error) {
      return { ok: false, code: error.code, message: error.message };
    }
  };
`;

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/**
 * A stdio demo server that serves only while a flag file exists: `up()` creates it, `down()` removes
 * it (a process started meanwhile exits at once, as a broken server would).
 */
function switchableStdioServer(name: string) {
  const directory = mkdtempSync(join(tmpdir(), 'enclave-mcp-'));
  directories.push(directory);
  const flag = join(directory, 'up');
  return {
    config: stdioServer(name, { args: ['--exit-unless', flag] }),
    up: () => writeFileSync(flag, ''),
    down: () => rmSync(flag, { force: true }),
  };
}

function serviceOf(broker: EnclaveBroker, name = 'demo'): CatalogService | undefined {
  return broker.catalog.getCatalog().services.find((service) => service.name === name);
}

async function statusBecomes(broker: EnclaveBroker, status: CatalogService['status']): Promise<void> {
  await expect.poll(() => serviceOf(broker)?.status, { timeout: 20_000 }).toBe(status);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const SESSION_ACROSS_A_RESTART = `${ATTEMPT}
  const pid = await tools.demo_pid();
  await tools.pause(pid);
  const whileDown = await attempt(() => tools.demo_echo({ text: 'are you there?' }));
  await tools.pause('down');
  const afterRestart = await attempt(() => tools.demo_pid());
  return { pid, whileDown, afterRestart };
`;

describe('an MCP server that dies while a session uses it', () => {
  it('stdio: its calls fail fast, it is listed with its error, restarted with backoff, and used again', async () => {
    const server = switchableStdioServer('demo');
    server.up();
    const logger = recordingLogger();
    const broker = testBroker({ mcpServers: [server.config], logger });
    await broker.catalog.ready();
    const before = broker.catalog.getCatalog();
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    const session = new SteppedSession(broker, SESSION_ACROSS_A_RESTART);
    const pid = Number(await session.untilPause());
    expect(isRunning(pid)).toBe(true);
    server.down();
    process.kill(pid, 'SIGKILL');
    await statusBecomes(broker, 'stale');
    // Its tools stay listed (and the version with them); the service carries the error.
    expect(serviceOf(broker)).toMatchObject({
      status: 'stale',
      actionCount: before.actions.length,
      error: {
        code: 'TOOL_SOURCE_UNAVAILABLE',
        message: expect.stringMatching(/^MCP server demo was lost: /),
      },
    });
    expect(broker.catalog.getCatalog().version).toBe(before.version);
    await session.resume();
    expect(await session.untilPause()).toBe('down');
    server.up();
    await statusBecomes(broker, 'ok');
    const result = (await session.finish()) as Record<
      string,
      { ok: boolean; code?: string; value?: unknown }
    >;
    expect(result.whileDown).toEqual({
      ok: false,
      code: 'TOOL_SOURCE_UNAVAILABLE',
      message: expect.stringMatching(/^MCP server demo (was lost|could not be connected): /),
    });
    expect(result.afterRestart?.ok).toBe(true);
    expect(Number(result.afterRestart?.value)).not.toBe(pid);
    expect(changes).toEqual([]);
    expect(serviceOf(broker)).not.toHaveProperty('error');
    expect(logger.lines.some((line) => line.startsWith('warn MCP server demo was lost; reconnecting'))).toBe(
      true,
    );
  });

  it('Streamable HTTP: its calls fail fast while it is down, and it is used again once it is back', async () => {
    await using server = await startHttpMcpServer();
    const logger = recordingLogger();
    const broker = testBroker({ mcpServers: [{ name: 'demo', url: server.url }], logger });
    await broker.catalog.ready();
    const version = broker.catalog.getCatalog().version;
    const session = new SteppedSession(broker, SESSION_ACROSS_A_RESTART);
    expect(Number(await session.untilPause())).toBe(process.pid);
    await server.stop();
    await session.resume();
    expect(await session.untilPause()).toBe('down');
    expect(serviceOf(broker)).toMatchObject({ status: 'stale', error: { code: 'TOOL_SOURCE_UNAVAILABLE' } });
    await server.start();
    await statusBecomes(broker, 'ok');
    const result = (await session.finish()) as Record<
      string,
      { ok: boolean; code?: string; value?: unknown }
    >;
    expect(result.whileDown).toMatchObject({ ok: false, code: 'TOOL_SOURCE_UNAVAILABLE' });
    expect(result.afterRestart).toEqual({ ok: true, value: String(process.pid) });
    expect(broker.catalog.getCatalog().version).toBe(version);
    expect(logger.lines.some((line) => line.startsWith('warn MCP server demo was lost; reconnecting'))).toBe(
      true,
    );
    expect(logger.lines.some((line) => line.includes(`"url":"${server.url}"`))).toBe(true);
  });
});

describe('an MCP server that is down when the broker starts', () => {
  it('stdio: listed as unavailable with its error; the broker runs sessions; its tools arrive when it comes up', async () => {
    const server = switchableStdioServer('demo');
    const logger = recordingLogger();
    const broker = testBroker({ mcpServers: [server.config], logger });
    await broker.catalog.ready();
    expect(
      logger.lines.some((line) =>
        line.startsWith('warn MCP server demo could not be connected; reconnecting'),
      ),
    ).toBe(true);
    expect(serviceOf(broker)).toEqual({
      name: 'demo',
      specUrl: '',
      lastUpdated: '',
      actionCount: 0,
      status: 'unavailable',
      error: {
        code: 'TOOL_SOURCE_UNAVAILABLE',
        message: expect.stringMatching(/^MCP server demo could not be connected: /),
      },
      kind: 'mcp',
    });
    expect(broker.tools.size).toBe(0);
    const events = await collect(broker.execute('return 6 * 7'));
    expect(events.at(-1)?.payload).toMatchObject({ ok: true, result: 42 });
    const changes: CatalogChange[] = [];
    broker.on('catalog:changed', (change) => changes.push(change));
    server.up();
    await statusBecomes(broker, 'ok');
    expect(changes).toHaveLength(1);
    expect(changes[0]?.addedActions).toContain('demo_echo');
    expect((await callFromCode(broker, "tools.demo_echo({ text: 'up' })")).outcome).toEqual({
      ok: true,
      value: 'up',
    });
  });

  it('Streamable HTTP: listed as unavailable until it listens; refresh() connects at once', async () => {
    const port = await unusedPort();
    const broker = testBroker({
      mcpServers: [{ name: 'demo', url: `http://127.0.0.1:${port}/mcp` }],
      logger: recordingLogger(),
    });
    await broker.catalog.ready();
    expect(serviceOf(broker)).toMatchObject({
      specUrl: `http://127.0.0.1:${port}/mcp`,
      status: 'unavailable',
      actionCount: 0,
      error: { code: 'TOOL_SOURCE_UNAVAILABLE' },
    });
    await using server = await startHttpMcpServer(port);
    await broker.catalog.refresh();
    expect(serviceOf(broker)).toMatchObject({ status: 'ok', actionCount: 11 });
    expect((await callFromCode(broker, 'tools.demo_pid()')).outcome).toEqual({
      ok: true,
      value: String(process.pid),
    });
    expect(server.requests.length).toBeGreaterThan(0);
  });
});

describe('secrets of MCP servers', () => {
  it('sends headers to the HTTP server and never shows them in the catalog, events, declarations or logs', async () => {
    const secrets = ['Bearer top-secret-token', 'key-5ec7e7', 'query-secret-9'];
    await using server = await startHttpMcpServer();
    const logger = recordingLogger();
    const broker = testBroker({
      logger,
      mcpServers: [
        {
          name: 'demo',
          url: `${server.url}?token=query-secret-9`,
          headers: { Authorization: 'Bearer top-secret-token', 'X-Api-Key': 'key-5ec7e7' },
        },
      ],
    });
    const { outcome, events } = await callFromCode(broker, "tools.demo_echo({ text: 'hi' })");
    expect(outcome).toEqual({ ok: true, value: 'hi' });
    expect(server.requests.every((headers) => headers.authorization === 'Bearer top-secret-token')).toBe(
      true,
    );
    expect(server.requests.every((headers) => headers['x-api-key'] === 'key-5ec7e7')).toBe(true);
    // A failure, so that errors are logged and listed too.
    await server.stop();
    const failed = await callFromCode(broker, "tools.demo_echo({ text: 'hi' })");
    expect(failed.outcome).toMatchObject({ ok: false, code: 'TOOL_SOURCE_UNAVAILABLE' });
    const shown = JSON.stringify([
      broker.catalog.getCatalog(),
      events,
      failed.events,
      broker.tools.getTypeDeclarations(),
      broker.tools.getDocumentation(),
      logger.lines,
    ]);
    expect(shown).toContain(`${server.url}`);
    for (const secret of secrets) expect(shown).not.toContain(secret);
    expect(serviceOf(broker)?.specUrl).toBe(server.url);
  });

  it('gives the stdio process its env and never shows the values', async () => {
    const logger = recordingLogger();
    const broker = testBroker({
      logger,
      mcpServers: [stdioServer('demo', { env: { DEMO_SECRET: 'env-secret-value-42' } })],
    });
    const { outcome, events } = await callFromCode(broker, "tools.demo_envLength({ name: 'DEMO_SECRET' })");
    expect(outcome).toEqual({ ok: true, value: String('env-secret-value-42'.length) });
    const shown = JSON.stringify([broker.catalog.getCatalog(), events, logger.lines]);
    expect(shown).not.toContain('env-secret-value-42');
  });
});

describe('MCP server configuration', () => {
  it.each<[string, unknown, RegExp]>([
    ['neither command nor url', { name: 'a' }, /give either command \(a local process\) or url/],
    ['both command and url', { name: 'a', command: 'node', url: 'http://x/mcp' }, /give either command/],
    [
      'an unknown option',
      { name: 'a', url: 'http://x/mcp', env: {} },
      /unknown option env for a server reached at url/,
    ],
    ['a bad name', { name: 'a b', command: 'node' }, /name must be 1 to 64 letters/],
    ['a URL that is not http(s)', { name: 'a', url: 'ftp://x/mcp' }, /url must be an http\(s\) URL/],
    [
      'args that are not strings',
      { name: 'a', command: 'node', args: [1] },
      /args must be an array of strings/,
    ],
    ['a timeout of 0', { name: 'a', command: 'node', timeout: 0 }, /timeout must be a positive integer/],
    [
      'a header value with a line break',
      { name: 'a', url: 'http://x/mcp', headers: { authorization: 'Bearer x\r\nevil: 1' } },
      /the value of authorization must be a string without line breaks/,
    ],
    [
      'an env value that is not a string',
      { name: 'a', command: 'node', env: { TOKEN: 42 } },
      /env: the value of TOKEN must be a string/,
    ],
  ])('refuses %s with CONFIGURATION_ERROR', (_label, server, message) => {
    const error = thrownBy(() => createBroker({ mcpServers: [server as McpServerConfig] }));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('Bearer x');
  });

  it('refuses two servers, or a server and an OpenAPI source, with one name', () => {
    expect(
      thrownBy(() => createBroker({ mcpServers: [stdioServer('a'), { name: 'a', url: 'http://x/mcp' }] }))
        .message,
    ).toBe('Two MCP servers are named "a"');
    expect(
      thrownBy(() =>
        createBroker({
          openApiSources: [{ name: 'a', url: 'http://x/openapi.json' }],
          mcpServers: [stdioServer('a')],
        }),
      ).message,
    ).toBe('An OpenAPI source and an MCP server are both named "a"');
  });

  it('stops the processes it started when the broker closes', async () => {
    const broker = createBroker({ poolSize: 1, mcpServers: [stdioServer('demo')] });
    const { outcome } = await callFromCode(broker, 'tools.demo_pid()');
    const pid = Number((outcome as { value: string }).value);
    expect(isRunning(pid)).toBe(true);
    await broker.close();
    await expect.poll(() => isRunning(pid), { timeout: 10_000 }).toBe(false);
    expect(broker.tools.has('demo_pid')).toBe(false);
  });
});
