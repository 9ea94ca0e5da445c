// The "Complete Example" of the broker API reference, as written: sessions live in Redis, so every
// broker started on the same REDIS_URL serves every session.
// Run: REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @enclave-vm/example-complete-broker start
//      (PORT overrides 3001)
import { EnclaveBroker, ToolRegistry } from '@enclave-vm/broker';
import Redis from 'ioredis';

const port = Number(process.env.PORT ?? 3001);

// Create tool registry
const tools = new ToolRegistry();

tools.register({
  name: 'users:list',
  description: 'List users',
  parameters: {
    limit: { type: 'number', description: 'Max results' },
  },
  handler: async (args) => {
    return [
      { id: '1', name: 'Alice' },
      { id: '2', name: 'Bob' },
    ].slice(0, (args.limit as number) || 10);
  },
});

tools.register({
  name: 'users:get',
  description: 'Get user by ID',
  parameters: {
    id: { type: 'string', description: 'User ID', required: true },
  },
  handler: async (args) => {
    return { id: args.id, name: 'Alice' };
  },
});

// Create broker
const broker = new EnclaveBroker({
  redis: new Redis(process.env.REDIS_URL),
  tools,
  sessionTimeout: 300000,
  maxConcurrentSessions: 1000,
  rateLimiting: {
    windowMs: 60000,
    maxRequests: 100,
  },
});

// Event handlers
broker.on('session:created', (session) => {
  console.log('Session created:', session.id);
});

broker.on('tool:called', (_session, tool, args) => {
  console.log(`Tool called: ${tool}`, args);
});

// Start server
await broker.listen(port);
console.log(`Broker running on port ${port}`);
console.log(
  `Try: curl -N -X POST http://localhost:${port}/execute -H 'Content-Type: application/json' ` +
    `-d '{"code":"const users = await callTool(\\"users:list\\", { limit: 1 }); return users"}'`,
);

// Graceful shutdown
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    await broker.close();
    process.exit(0);
  });
}
