// Helpers shared by the HTTP tests (not a test file itself).
import { readNDJSON } from '@enclave-vm/stream';
import { type StreamEvent, StreamEventSchema } from '@enclave-vm/types';
import { type BrokerOptions, EnclaveBroker } from '../src/index.js';

/** A broker served on a loopback port 0, closed by `await using`. */
export interface TestBroker extends AsyncDisposable {
  broker: EnclaveBroker;
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** Starts a broker with a one-thread embedded runtime pool, listening on 127.0.0.1 and port 0. */
export async function startTestBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const broker = new EnclaveBroker({ poolSize: 1, sessionTimeout: 20_000, ...options });
  await broker.listen(0);
  const { port } = broker.address();
  const close = (): Promise<void> => broker.close();
  return { broker, url: `http://127.0.0.1:${port}`, close, [Symbol.asyncDispose]: close };
}

/** POSTs JSON. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Reads a whole NDJSON response, checking every line against the event schema. */
export async function readAllEvents(response: Response): Promise<StreamEvent[]> {
  if (response.body === null) throw new Error('response has no body');
  const events: StreamEvent[] = [];
  for await (const line of readNDJSON(response.body)) events.push(StreamEventSchema.parse(line));
  return events;
}

/** Pulls events of an NDJSON response one at a time, as they arrive. */
export class EventReader {
  private readonly iterator: AsyncIterator<unknown>;

  constructor(response: Response) {
    if (response.body === null) throw new Error('response has no body');
    this.iterator = readNDJSON(response.body)[Symbol.asyncIterator]();
  }

  /** The next event; throws when the stream ends first. */
  async next(): Promise<StreamEvent> {
    const result = await this.iterator.next();
    if (result.done === true) throw new Error('the stream ended');
    return StreamEventSchema.parse(result.value);
  }

  /** Every remaining event. */
  async rest(): Promise<StreamEvent[]> {
    const events: StreamEvent[] = [];
    for (;;) {
      const result = await this.iterator.next();
      if (result.done === true) return events;
      events.push(StreamEventSchema.parse(result.value));
    }
  }

  /** Stops reading (the connection is dropped). */
  async cancel(): Promise<void> {
    await this.iterator.return?.();
  }
}

/** Asserts seqs run from `first` upward by one with no gap or repeat. */
export function seqsOf(events: readonly StreamEvent[]): number[] {
  return events.map((event) => event.seq);
}

/** `[from, from + 1, …, to]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/** The error body of a refused request. */
export async function errorOf(
  response: Response,
): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string; retryable: boolean } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

/** A loopback TCP proxy whose connections can be cut, to simulate network drops. */
export interface DropProxy extends AsyncDisposable {
  /** `127.0.0.1:<port>` of the proxy. */
  host: string;
  /** Connections made through it so far. */
  readonly connections: number;
  /** Destroys every open connection (both sides). */
  dropAll(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1, port 0, forwarding to `target` (`http://127.0.0.1:<port>`). */
export async function startDropProxy(target: string): Promise<DropProxy> {
  const { createServer, connect } = await import('node:net');
  const targetPort = Number(new URL(target).port);
  const sockets = new Set<import('node:net').Socket>();
  let connections = 0;
  const server = createServer((client) => {
    connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const dropAll = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  const close = async (): Promise<void> => {
    dropAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    host: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    dropAll,
    close,
    [Symbol.asyncDispose]: close,
  };
}
