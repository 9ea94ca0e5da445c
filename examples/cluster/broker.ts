// One broker of the cluster example, as its own process (index.ts starts two of them).
// Environment: NAME, PORT, REDIS_URL, RUNTIME_URL. Stops on SIGTERM, or when its parent goes away.
import { createBroker } from '@enclave-vm/broker';
import Redis from 'ioredis';
import { z } from 'zod';

const name = process.env.NAME ?? 'broker';
const port = Number(process.env.PORT ?? 3000);

// Every broker given the same Redis serves every session: records, event logs, tool results,
// cancels, the session cap and the rate limit are shared; the code runs on the runtime worker.
const broker = createBroker({
  redis: new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6380'),
  mode: 'extracted',
  runtimeUrl: process.env.RUNTIME_URL ?? 'ws://127.0.0.1:3002',
  maxConcurrentSessions: 100,
  rateLimiting: { windowMs: 60_000, maxRequests: 600 },
});

broker.tool('getCurrentTime', {
  description: 'Get the current time, as an ISO string',
  argsSchema: z.object({}),
  handler: async () => new Date().toISOString(),
});

await broker.listen(port);
console.log(`Broker ${name} listening on http://localhost:${port} (${broker.id})`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await broker.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// The launcher holds our stdin: when it is gone, so are we.
process.stdin.on('end', stop);
process.stdin.resume();
