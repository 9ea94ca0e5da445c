// MCP servers as tools: the tools of an MCP server become tools that sandboxed code calls, listed in
// the catalog and typed in the declarations. This starts the broker with the notes server of
// notes-server.mjs (a child process over stdio), prints the actions and the TypeScript declarations,
// runs code that calls the tools, then serves the broker over HTTP.
// Run: pnpm --filter @enclave-vm/example-mcp-servers start   (PORT overrides 3000)
import { fileURLToPath } from 'node:url';
import { createBroker } from '@enclave-vm/broker';

const broker = createBroker({
  mcpServers: [
    // A local process over stdio. A remote one: { name: 'tickets', url: 'https://…/mcp', headers: { … } }
    {
      name: 'notes',
      command: process.execPath,
      args: [fileURLToPath(new URL('./notes-server.mjs', import.meta.url))],
    },
  ],
});
broker.on('catalog:changed', (change) => {
  console.log(`catalog ${change.version.slice(0, 12)}: +${change.addedActions.join(', ')}`);
});

await broker.catalog.ready();
for (const action of broker.catalog.getCatalog().actions) {
  console.log(`action ${action.name}: ${action.description}`);
}
console.log(broker.tools.getTypeDeclarations());

const stream = broker.execute(`
  const added = await tools.notes_add_note({ text: 'Call the plumber', tags: ['home'] });
  console.log('added:', added.id, 'of', added.count);
  console.log('found:', await tools.notes_find_notes({ word: 'PLUMBER' }));
  try {
    await tools.notes_delete_note({ id: 99 });
  } catch (error) {
    console.log('delete 99:', error.code, error.message);
  }
  try {
    await tools.notes_add_note({ text: '' });
  } catch (error) {
    console.log('empty note:', error.code);
  }
  return await callTool('notes_delete_note', { id: added.id });
`);
for await (const event of stream) {
  if (event.type === 'stdout') process.stdout.write(event.payload.chunk);
  if (event.type === 'final') console.log('final', JSON.stringify(event.payload.result));
}

const port = Number(process.env.PORT ?? 3000);
await broker.listen(port);
console.log(`Broker listening on http://localhost:${port}`);
console.log(`Try: curl http://localhost:${port}/code/declarations`);
console.log(
  `Try: curl -N -X POST http://localhost:${port}/execute -H 'Content-Type: application/json' ` +
    `-d '{"code":"return await tools.notes_find_notes({ word: \\"milk\\" })"}'`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void broker.close().then(() => process.exit(0));
  });
}
