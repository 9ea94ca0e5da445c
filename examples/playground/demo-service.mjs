// @ts-check
// A small HTTP service with an OpenAPI 3.0 document, so that the playground's catalog has actions:
// an in-memory notes API. The playground's broker polls its document like any OpenAPI source.
import { createServer } from 'node:http';

/** The service's OpenAPI document (served at `/openapi.json`). */
export const NOTES_DOCUMENT = Object.freeze({
  openapi: '3.0.3',
  info: { title: 'Notes', version: '1.0.0', description: 'An in-memory notes service.' },
  servers: [{ url: '/api' }],
  paths: {
    '/notes': {
      get: {
        operationId: 'listNotes',
        summary: 'List notes',
        tags: ['notes'],
        parameters: [
          {
            name: 'tag',
            in: 'query',
            description: 'Only notes with this tag',
            schema: { type: 'string' },
          },
          {
            name: 'limit',
            in: 'query',
            description: 'Max notes to return',
            schema: { type: 'integer', minimum: 1, maximum: 50 },
          },
        ],
        responses: {
          200: {
            description: 'The notes',
            content: {
              'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Note' } } },
            },
          },
        },
      },
      post: {
        operationId: 'createNote',
        summary: 'Create a note',
        tags: ['notes'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/NewNote' } } },
        },
        responses: {
          201: {
            description: 'The note',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Note' } } },
          },
        },
      },
    },
    '/notes/{id}': {
      get: {
        operationId: 'getNote',
        summary: 'Get a note by id',
        tags: ['notes'],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          200: {
            description: 'The note',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Note' } } },
          },
          404: { description: 'No such note' },
        },
      },
    },
  },
  components: {
    schemas: {
      NewNote: {
        type: 'object',
        required: ['title'],
        additionalProperties: false,
        properties: {
          title: { type: 'string', minLength: 1, maxLength: 200 },
          tags: { type: 'array', items: { type: 'string' } },
        },
      },
      Note: {
        allOf: [
          { $ref: '#/components/schemas/NewNote' },
          { type: 'object', properties: { id: { type: 'string', readOnly: true } } },
        ],
      },
    },
  },
});

/**
 * @typedef {object} DemoService
 * @property {string} specUrl Where its OpenAPI document is served.
 * @property {() => Promise<void>} close
 */

/**
 * Starts the notes service on 127.0.0.1 and a free port.
 *
 * @returns {Promise<DemoService>}
 */
export async function startDemoService() {
  /** @type {{ id: string, title: string, tags: string[] }[]} */
  const notes = [
    { id: '1', title: 'Buy milk', tags: ['home'] },
    { id: '2', title: 'Ship the catalog', tags: ['work'] },
    { id: '3', title: 'Water the plants', tags: ['home'] },
  ];
  const documentText = JSON.stringify(NOTES_DOCUMENT);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    /** @param {number} status @param {unknown} body */
    const json = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (request.method === 'GET' && url.pathname === '/openapi.json') {
      if (request.headers['if-none-match'] === '"notes-1"') {
        response.writeHead(304, { etag: '"notes-1"' }).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', etag: '"notes-1"' }).end(documentText);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/api/notes') {
      const tag = url.searchParams.get('tag');
      const limit = Number(url.searchParams.get('limit') ?? 50);
      json(200, notes.filter((note) => tag === null || note.tags.includes(tag)).slice(0, limit));
      return;
    }
    if (request.method === 'POST' && url.pathname === '/api/notes') {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const input = JSON.parse(body);
        const note = { id: String(notes.length + 1), title: input.title, tags: input.tags ?? [] };
        notes.push(note);
        json(201, note);
      });
      return;
    }
    const match = /^\/api\/notes\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && match !== null) {
      const note = notes.find((candidate) => candidate.id === decodeURIComponent(match[1] ?? ''));
      if (note === undefined) json(404, { message: 'No such note' });
      else json(200, note);
      return;
    }
    json(404, { message: 'Not found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    specUrl: `http://127.0.0.1:${port}/openapi.json`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}
