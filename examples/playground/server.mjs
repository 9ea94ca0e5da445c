// @ts-check
// The playground's server: the broker's HTTP API (embedded sandbox, two example tools) and the
// built page, on one port, so the page reaches the broker without CORS.
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createBroker, createBrokerApp, ToolRegistry } from '@enclave-vm/broker';
import { z } from 'zod';
import { startDemoService } from './demo-service.mjs';

/** Where `vite build` writes the page. */
export const PAGE_DIRECTORY = fileURLToPath(new URL('./dist/', import.meta.url));

/** The users `users:list` returns. */
const USERS = Object.freeze([
  { id: '1', name: 'Alice' },
  { id: '2', name: 'Bob' },
  { id: '3', name: 'Carol' },
]);

/** Content types of the files a Vite build writes. */
const CONTENT_TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
});

/**
 * @typedef {object} PlaygroundServerOptions
 * @property {number} [port] Port to listen on; 0 picks a free one. Default 3000.
 * @property {string} [host] Interface to bind. Default '127.0.0.1'.
 * @property {string} [pageDirectory] The built page (`vite build` output). Default {@link PAGE_DIRECTORY}.
 * @property {Omit<import('@enclave-vm/broker').BrokerOptions, 'tools'>} [brokerOptions]
 *   Further broker options (e.g. `poolSize`, `securityLevel`). Default: the broker's defaults.
 * @property {(broker: import('@enclave-vm/broker').EnclaveBroker) => void} [configureBroker]
 *   Called with the broker before the server listens: register your own tools here.
 * @property {boolean} [notesService] Start the demo notes service (demo-service.mjs) and add it as the
 *   OpenAPI source `notes`, so the catalog has actions. Default true.
 */

/**
 * @typedef {object} PlaygroundServer
 * @property {string} url The page's URL, e.g. `http://localhost:3000`; the broker's API answers on it too.
 * @property {number} port The port bound (useful with port 0).
 * @property {boolean} pageBuilt Whether the built page was found; without it `/` explains how to build it.
 * @property {import('@enclave-vm/broker').EnclaveBroker} broker The broker behind the API.
 * @property {() => Promise<void>} close Ends running sessions, then stops the server and the sandbox.
 */

/**
 * Creates the playground's broker: the embedded sandbox with three broker tools, `getCurrentTime`
 * (arguments described with zod), `users:list` (a `ToolRegistry` tool with parameters) and
 * `users:delete` (whose every call waits for an approval from the page), plus the actions of
 * `options.openApiSources`.
 *
 * @param {Omit<import('@enclave-vm/broker').BrokerOptions, 'tools'>} [options]
 * @returns {import('@enclave-vm/broker').EnclaveBroker}
 */
export function createPlaygroundBroker(options = {}) {
  const tools = new ToolRegistry();
  tools.register({
    name: 'users:list',
    description: 'List users',
    parameters: { limit: { type: 'number', description: 'Max results', default: 10 } },
    handler: async (args) => USERS.slice(0, Number(args.limit)),
  });
  tools.register({
    name: 'users:delete',
    description: 'Delete a user (a demo: nobody is really removed). Each call waits for your approval.',
    parameters: { id: { type: 'string', description: 'The id of the user', required: true } },
    requiresApproval: true,
    handler: async (args) => {
      const user = USERS.find((candidate) => candidate.id === args.id);
      if (user === undefined) throw new Error(`No user ${String(args.id)}`);
      return { deleted: user.name };
    },
  });
  const broker = createBroker({ mode: 'embedded', ...options, tools });
  broker.tool('getCurrentTime', {
    description: 'Get the current time, optionally in an IANA time zone',
    argsSchema: z.object({ timezone: z.string().optional() }),
    handler: async ({ timezone }) => new Date().toLocaleString('en-US', { timeZone: timezone }),
  });
  return broker;
}

/**
 * Starts the playground: the broker's API (`POST /execute`, `/sessions/…`, `/code/actions`, `/health`,
 * …) and the page at `/`, on one port, and the demo notes service whose operations are the catalog's
 * actions (`notes_listNotes`, `notes_createNote`, `notes_getNote`).
 *
 * @param {PlaygroundServerOptions} [options]
 * @returns {Promise<PlaygroundServer>}
 * @example
 * const playground = await startPlayground({
 *   port: 0,
 *   configureBroker: (broker) =>
 *     broker.tool('weather', {
 *       description: 'Weather in a city',
 *       argsSchema: z.object({ city: z.string() }),
 *       handler: async ({ city }) => ({ city, forecast: 'sunny' }),
 *     }),
 * });
 * console.log(`Open ${playground.url}`);
 * await playground.close();
 */
export async function startPlayground(options = {}) {
  const {
    port = 3000,
    host = '127.0.0.1',
    pageDirectory = PAGE_DIRECTORY,
    brokerOptions,
    configureBroker,
    notesService = true,
  } = options;
  const page = await readPage(pageDirectory);
  const notes = notesService ? await startDemoService() : undefined;
  const openApiSources = [
    ...(notes === undefined ? [] : [{ name: 'notes', url: notes.specUrl }]),
    ...(brokerOptions?.openApiSources ?? []),
  ];
  const broker = createPlaygroundBroker({ ...brokerOptions, openApiSources });
  configureBroker?.(broker);
  const app = await createBrokerApp(broker);
  if (page === undefined) {
    app.get('/', (_request, reply) => reply.code(503).type(CONTENT_TYPES['.html']).send(PAGE_MISSING_HTML));
  } else {
    for (const [path, file] of page) {
      app.get(path, (_request, reply) =>
        reply.type(file.contentType).header('cache-control', file.cacheControl).send(file.body),
      );
    }
  }
  try {
    await app.listen({ port, host });
  } catch (error) {
    await broker.close();
    await app.close();
    await notes?.close();
    throw error;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '127.0.0.1' || host === '::' ? 'localhost' : host;
  let closing;
  return {
    url: `http://${shownHost}:${boundPort}`,
    port: boundPort,
    pageBuilt: page !== undefined,
    broker,
    close() {
      // The broker first: running sessions end with a `final` that still reaches their streams.
      closing ??= broker
        .close()
        .finally(() => app.close())
        .finally(() => notes?.close());
      return closing;
    },
  };
}

/**
 * @typedef {object} PageFile
 * @property {Buffer} body
 * @property {string} contentType
 * @property {string} cacheControl
 */

/**
 * Every file of the built page by URL path, read once: only these exact paths are served, so no
 * request can reach another file. `undefined` when the page has not been built.
 *
 * @param {string} directory
 * @returns {Promise<Map<string, PageFile> | undefined>}
 */
async function readPage(directory) {
  let entries;
  try {
    entries = await readdir(directory, { recursive: true, withFileTypes: true });
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return undefined;
    throw error;
  }
  /** @type {Map<string, PageFile>} */
  const files = new Map();
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const urlPath = `/${relative(directory, path).split(sep).join('/')}`;
    const extension = extname(entry.name).toLowerCase();
    files.set(urlPath, {
      body: await readFile(path),
      contentType:
        CONTENT_TYPES[/** @type {keyof typeof CONTENT_TYPES} */ (extension)] ?? 'application/octet-stream',
      // Vite puts a content hash in every name under assets/; index.html must be fetched afresh.
      cacheControl: urlPath.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  const index = files.get('/index.html');
  if (index === undefined) return undefined;
  files.set('/', index);
  return files;
}

const PAGE_MISSING_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>EnclaveJS playground</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The playground page is not built yet</h1>
<p>The broker's API is up on this port. To get the page, build it and restart:</p>
<pre style="background: #f1f5f9; padding: 1rem">pnpm build        # everything, or just the page:
pnpm --filter @enclave-vm/playground build</pre>
</body></html>
`;

// `node server.mjs` (the package's `start` script): serve on PORT (3000) and HOST (127.0.0.1).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const playground = await startPlayground({
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? '127.0.0.1',
  });
  console.log(`EnclaveJS playground on ${playground.url}`);
  if (!playground.pageBuilt) console.log('The page is not built yet: run `pnpm build` first.');
  console.log('Stop with Ctrl-C.');
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.once(signal, () => {
      playground.close().then(
        () => process.exit(0),
        (error) => {
          console.error('Stopping failed:', error);
          process.exit(1);
        },
      );
    });
  }
}
