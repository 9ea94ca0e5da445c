// The action catalog: an OpenAPI service's operations become tools that code calls, kept current by
// polling. This starts a small user service (its OpenAPI document at /openapi.json), a broker with it
// as an OpenAPI source, runs code that calls its operations, then serves the broker over HTTP.
// Run: pnpm --filter @enclave-vm/example-openapi-catalog start   (PORT overrides 3000)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBroker } from '@enclave-vm/broker';

// --- A user service with an OpenAPI 3.0 document (yours is already running somewhere) ---
const users = [
  { id: '1', name: 'Ada', role: 'admin' },
  { id: '2', name: 'Brian', role: 'member' },
  { id: '3', name: 'Cleo', role: 'member' },
];
const document = {
  openapi: '3.0.3',
  info: { title: 'User service', version: '1.0.0' },
  servers: [{ url: '/api' }],
  paths: {
    '/users': {
      get: {
        operationId: 'listUsers',
        summary: 'List all users',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
          { name: 'role', in: 'query', schema: { $ref: '#/components/schemas/Role' } },
        ],
        responses: { '200': { description: 'The users' } },
      },
    },
    '/users/{id}': {
      get: {
        operationId: 'getUser',
        summary: 'Get user by ID',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'The user' }, '404': { description: 'No such user' } },
      },
    },
  },
  components: { schemas: { Role: { type: 'string', enum: ['admin', 'member'] } } },
};
const service = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const send = (status: number, body: unknown) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (request.headers.authorization !== 'Bearer demo-token') return send(401, { message: 'Who are you?' });
  if (url.pathname === '/openapi.json') return send(200, document);
  if (url.pathname === '/api/users') {
    const role = url.searchParams.get('role');
    const limit = Number(url.searchParams.get('limit') ?? 100);
    return send(200, users.filter((user) => role === null || user.role === role).slice(0, limit));
  }
  const user = users.find((candidate) => url.pathname === `/api/users/${candidate.id}`);
  return user === undefined ? send(404, { message: 'No such user' }) : send(200, user);
});
await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
const serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

// --- The broker: every operation of the service becomes a tool `user-service_<operationId>` ---
const broker = createBroker({
  openApiSources: [
    {
      name: 'user-service',
      url: `${serviceUrl}/openapi.json`,
      // Sent with the document fetch and every call; never shown in the catalog, events or logs.
      headers: { authorization: 'Bearer demo-token' },
      pollInterval: 30_000,
    },
  ],
});
broker.on('catalog:changed', (change) => {
  console.log(`catalog ${change.version.slice(0, 12)}: +${change.addedActions.join(', ')}`);
});

await broker.catalog.ready();
for (const action of broker.catalog.getCatalog().actions) {
  console.log(`action ${action.name}: ${action.description} ${JSON.stringify(action.inputSchema)}`);
}

const stream = broker.execute(`
  const members = await tools['user-service_listUsers']({ role: 'member', limit: 10 });
  console.log('members:', members.map((user) => user.name).join(', '));
  try {
    await tools['user-service_getUser']({ id: '42' });
  } catch (error) {
    console.log('getUser 42:', error.code, error.details.status);
  }
  try {
    await tools['user-service_listUsers']({ limit: 0 });
  } catch (error) {
    console.log('listUsers limit 0:', error.code);
  }
  return await callTool('user-service_getUser', { id: '1' });
`);
for await (const event of stream) {
  if (event.type === 'stdout') process.stdout.write(event.payload.chunk);
  if (event.type === 'final') console.log('final', JSON.stringify(event.payload.result));
}

const port = Number(process.env.PORT ?? 3000);
await broker.listen(port);
console.log(`Broker listening on http://localhost:${port}`);
console.log(`Try: curl http://localhost:${port}/code/actions`);
console.log(
  `Try: curl -N -X POST http://localhost:${port}/execute -H 'Content-Type: application/json' ` +
    `-d '{"code":"return await tools[\\"user-service_listUsers\\"]({ limit: 2 })"}'`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void broker
      .close()
      .then(() => new Promise((resolve) => service.close(resolve)))
      .then(() => process.exit(0));
  });
}
