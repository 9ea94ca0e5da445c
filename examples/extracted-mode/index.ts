// Extracted mode from the EnclaveJS overview: the broker runs no code itself; it sends each session
// to a runtime worker over WebSocket. Both run in this one script here; in production the worker is
// its own process or host (`enclave-runtime --port 3001 --auth-token …`).
// Run: pnpm --filter @enclave-vm/example-extracted-mode start
// (PORT overrides the broker's 3000, RUNTIME_PORT the worker's 3001)
import { createBroker } from '@enclave-vm/broker';
import { createRuntimeWorker } from '@enclave-vm/runtime';

const port = Number(process.env.PORT ?? 3000);
const runtimePort = Number(process.env.RUNTIME_PORT ?? 3001);

// Broker
const broker = createBroker({
  mode: 'extracted',
  runtimeUrl: `ws://localhost:${runtimePort}`,
});

// Runtime Worker
const worker = createRuntimeWorker({ port: runtimePort });
await worker.start();

await broker.listen(port);
console.log(`Runtime worker listening on ws://localhost:${runtimePort}`);
console.log(`Broker listening on http://localhost:${port} (extracted mode)`);
console.log(
  `Try: curl -N -X POST http://localhost:${port}/execute -H 'Content-Type: application/json' ` +
    `-d '{"code":"console.log(\\"hello from the runtime worker\\"); return 1 + 2"}'`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await broker.close();
    await worker.stop();
    process.exit(0);
  });
}
