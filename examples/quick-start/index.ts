// The Quick Start of the EnclaveJS overview, as written, then the same broker served over HTTP.
// Run: pnpm --filter @enclave-vm/example-quick-start start   (PORT overrides 3000)
import { Broker, createBroker } from '@enclave-vm/broker';
import { z } from 'zod';

const broker = createBroker({
  securityLevel: 'SECURE',
});

// Register a tool
broker.tool('getCurrentTime', {
  description: 'Get the current time',
  argsSchema: z.object({
    timezone: z.string().optional(),
  }),
  handler: async ({ timezone }) => {
    return new Date().toLocaleString('en-US', { timeZone: timezone });
  },
});

// Execute code with streaming
const stream = broker.execute(`
  const time = await tools.getCurrentTime({ timezone: 'America/New_York' });
  console.log('Current time:', time);
  return time;
`);

for await (const event of stream) {
  console.log(event.type, event.payload);
}

// `Broker` is the same class as `EnclaveBroker`; `createBroker` returns one.
console.log('broker is a Broker:', broker instanceof Broker);

const port = Number(process.env.PORT ?? 3000);
await broker.listen(port);
console.log(`Broker listening on http://localhost:${port}`);
console.log(
  `Try: curl -N -X POST http://localhost:${port}/execute -H 'Content-Type: application/json' ` +
    `-d '{"code":"const time = await tools.getCurrentTime({ timezone: \\"UTC\\" }); console.log(time); return time"}'`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    broker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
