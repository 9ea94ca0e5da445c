#!/usr/bin/env node
// `pnpm start`: the playground page and a broker with the embedded sandbox and three example tools
// (getCurrentTime, users:list, users:delete), together on one port (examples/playground/server.mjs).
// PORT overrides the port (3000); HOST the interface (127.0.0.1). Stops cleanly on Ctrl-C / SIGTERM.
import { startPlayground } from '../examples/playground/server.mjs';

const { PORT = '3000', HOST = '127.0.0.1' } = process.env;

const playground = await startPlayground({ port: Number(PORT), host: HOST });
const url = playground.url;
console.log(
  `EnclaveJS broker listening on ${url} (embedded sandbox; tools: getCurrentTime, users:list, users:delete)`,
);
if (playground.pageBuilt) {
  console.log(`Playground: open ${url}/ in a browser to write code, run it and answer its tools.`);
} else {
  console.log(
    'The playground page is not built, so only the API is up: run `pnpm build` ' +
      '(or `pnpm --filter @enclave-vm/playground build`) and start again.',
  );
}
console.log('Try:');
console.log(
  `  curl -N -X POST ${url}/execute -H 'Content-Type: application/json' -d '{"code":"return 1 + 2"}'`,
);
console.log(
  `  curl -N -X POST ${url}/execute -H 'Content-Type: application/json' ` +
    `-d '{"code":"const time = await tools.getCurrentTime({}); const users = await callTool(\\"users:list\\", { limit: 2 }); console.log(time); return users"}'`,
);
console.log('Stop with Ctrl-C.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`Received ${signal}, stopping`);
    playground.close().then(
      () => process.exit(0),
      (error) => {
        console.error('Stopping failed:', error);
        process.exit(1);
      },
    );
  });
}
