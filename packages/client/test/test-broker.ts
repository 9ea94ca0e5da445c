// Helpers shared by the client's tests against a real broker (not a test file itself).
import { type BrokerOptions, createBroker, type EnclaveBroker } from '@enclave-vm/broker';
import { EnclaveClient, type EnclaveClientOptions, type FetchFunction } from '../src/index.js';

/** A broker with the real sandbox (one worker thread) on a loopback port 0, closed by `await using`. */
export interface TestBroker extends AsyncDisposable {
  broker: EnclaveBroker;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** A client of this broker that reconnects within milliseconds (tests need no politeness). */
  client(options?: Partial<EnclaveClientOptions>): EnclaveClient;
}

/** Starts a broker; `configure` registers its tools before it listens. */
export async function startBroker(
  options: BrokerOptions = {},
  configure?: (broker: EnclaveBroker) => void,
): Promise<TestBroker> {
  const broker = createBroker({ poolSize: 1, sessionTimeout: 30_000, ...options });
  configure?.(broker);
  await broker.listen(0);
  const url = `http://127.0.0.1:${broker.address().port}`;
  return {
    broker,
    url,
    client: (clientOptions = {}) =>
      new EnclaveClient({
        brokerUrl: url,
        ...clientOptions,
        reconnect: { initialDelay: 1, maxDelay: 20, ...clientOptions.reconnect },
      }),
    [Symbol.asyncDispose]: () => broker.close(),
  };
}

/** How {@link droppingFetch} cuts event streams. */
export interface DropPlan {
  /** Cuts still to make; each cut decrements it (a stream that ends before its cut point is not cut). */
  remaining: number;
  /** Streams cut so far. */
  dropped: number;
  /** Picks how many bytes of a stream pass before the cut. */
  cutAfter: () => number;
  /** Whether a cut ends the body cleanly (as a proxy would) rather than with a network error. */
  endCleanly: () => boolean;
}

/**
 * A `fetch` that lets event streams (`application/x-ndjson` answers) through the real network, then
 * cuts each of the next `plan.remaining` of them after `plan.cutAfter()` bytes — in the middle of a
 * line, as a dropped connection does. Everything else passes untouched.
 */
export function droppingFetch(plan: DropPlan, inner: FetchFunction = fetch): FetchFunction {
  return async (input, init) => {
    const response = await inner(input, init);
    const isEventStream = response.headers.get('content-type')?.includes('application/x-ndjson') === true;
    if (!isEventStream || response.body === null || plan.remaining <= 0) return response;
    const limit = plan.cutAfter();
    const clean = plan.endCleanly();
    const reader = response.body.getReader();
    let passed = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const read = await reader.read();
        if (read.done) {
          controller.close();
          return;
        }
        if (passed + read.value.length < limit) {
          passed += read.value.length;
          controller.enqueue(read.value);
          return;
        }
        controller.enqueue(read.value.subarray(0, limit - passed));
        plan.remaining--;
        plan.dropped++;
        await reader.cancel();
        if (clean) controller.close();
        else controller.error(new TypeError('terminated: other side closed'));
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** Resolves when `condition` holds, checking after each event-loop turn, at most `turns` times. */
export async function until(condition: () => boolean, turns = 5_000): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error('the condition did not hold in time');
}
