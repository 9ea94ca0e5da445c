// A real broker for the hook tests (not a test file itself).
import { createBroker, type EnclaveBroker, ToolRegistry } from '@enclave-vm/broker';

/** A broker with the real sandbox (one worker thread) on a loopback port 0. */
export interface TestBroker {
  broker: EnclaveBroker;
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** Starts a broker with one broker-side tool, `double({ value })`. */
export async function startTestBroker(): Promise<TestBroker> {
  const tools = new ToolRegistry();
  tools.register({
    name: 'double',
    description: 'Doubles a number',
    parameters: { value: { type: 'number', description: 'The number to double', required: true } },
    handler: async ({ value }) => Number(value) * 2,
  });
  // jsdom's fetch is Node's, which ignores CORS; `cors` keeps the broker usable from a real page too.
  const broker = createBroker({ poolSize: 1, cors: true, sessionTimeout: 60_000, tools });
  await broker.listen(0);
  return { broker, url: `http://127.0.0.1:${broker.address().port}`, close: () => broker.close() };
}
