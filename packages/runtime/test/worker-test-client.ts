// A raw runtime-channel client for the worker tests: it speaks the protocol directly over a real
// `ws` socket, so the tests see exactly what a broker would receive.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '@enclave-vm/test-utils';
import {
  type FinalPayload,
  type RuntimeEvent,
  type RuntimeToBrokerMessage,
  RuntimeToBrokerMessageSchema,
  resolveLimits,
  type SessionLimits,
} from '@enclave-vm/types';
import { WebSocket } from 'ws';

/** Limits small enough to keep a stuck test short. */
export const TEST_LIMITS: SessionLimits = resolveLimits('STANDARD', { timeout: 10_000, toolTimeout: 10_000 });

/** How long a test waits for something that should happen promptly before it fails. */
const WAIT_LIMIT_MS = 4_000;

type ChannelErrorMessage = Extract<RuntimeToBrokerMessage, { type: 'error' }>;

export class ChannelClient {
  readonly messages: RuntimeToBrokerMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private closeCode: number | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const parsed = RuntimeToBrokerMessageSchema.parse(JSON.parse(String(data)));
      this.messages.push(parsed);
      for (const waiter of [...this.waiters]) waiter();
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  /** Opens a connection and waits for the worker's hello. */
  static async connect(url: string, headers?: Record<string, string>): Promise<ChannelClient> {
    const socket = new WebSocket(url, headers === undefined ? undefined : { headers });
    // Listen before the socket opens: hello can arrive in the same read as the upgrade response.
    const client = new ChannelClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await client.waitFor((message) => message.type === 'hello');
    return client;
  }

  /** Sends a message object as JSON. */
  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Sends a raw text frame. */
  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** Starts a session. */
  execute(sessionId: string, code: string, limits: SessionLimits = TEST_LIMITS): void {
    this.send({ type: 'execute', sessionId, code, limits });
  }

  /** Answers a tool call successfully. */
  answer(sessionId: string, callId: string, result: unknown): void {
    this.send({ type: 'tool_result', sessionId, callId, ok: true, result });
  }

  /** Every event received for a session, in order. */
  eventsOf(sessionId: string): RuntimeEvent[] {
    return this.messages.flatMap((message) =>
      message.type === 'events' && message.sessionId === sessionId ? message.events : [],
    );
  }

  /** The `events` messages received for a session. */
  batchesOf(sessionId: string): RuntimeEvent[][] {
    return this.messages.flatMap((message) =>
      message.type === 'events' && message.sessionId === sessionId ? [message.events] : [],
    );
  }

  /** Channel errors received so far. */
  channelErrors(): ChannelErrorMessage[] {
    return this.messages.filter((message): message is ChannelErrorMessage => message.type === 'error');
  }

  /** Resolves with the first message (received before or after the call) matching the predicate. */
  waitFor<Message extends RuntimeToBrokerMessage>(
    predicate: (message: RuntimeToBrokerMessage) => message is Message,
    description?: string,
  ): Promise<Message>;
  waitFor(
    predicate: (message: RuntimeToBrokerMessage) => boolean,
    description?: string,
  ): Promise<RuntimeToBrokerMessage>;
  waitFor(
    predicate: (message: RuntimeToBrokerMessage) => boolean,
    description = 'a message',
  ): Promise<RuntimeToBrokerMessage> {
    return this.waitUntil(() => this.messages.find(predicate), description);
  }

  /** Resolves with the `final` payload of a session. */
  async waitForFinal(sessionId: string): Promise<FinalPayload> {
    return this.waitUntil(() => {
      const final = this.eventsOf(sessionId).find((event) => event.type === 'final');
      return final?.type === 'final' ? final.payload : undefined;
    }, `the final of ${sessionId}`);
  }

  /** Resolves with the call id of the session's `index`-th tool call (0-based). */
  async waitForToolCall(
    sessionId: string,
    index = 0,
  ): Promise<{ callId: string; toolName: string; args: unknown }> {
    return this.waitUntil(() => {
      const calls = this.eventsOf(sessionId).filter((event) => event.type === 'tool_call');
      const call = calls[index];
      return call?.type === 'tool_call' ? call.payload : undefined;
    }, `tool call ${index} of ${sessionId}`);
  }

  /** Resolves with the next channel error after the ones already received. */
  async waitForNextError(alreadySeen: number): Promise<ChannelErrorMessage> {
    return this.waitUntil(() => this.channelErrors()[alreadySeen], 'a channel error');
  }

  /** Resolves with the close code once the worker closed the connection. */
  async waitForClose(): Promise<number> {
    return this.waitUntil(() => this.closeCode, 'the connection to close');
  }

  /** Closes the connection and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.close();
    await closed;
  }

  private waitUntil<Value>(check: () => Value | undefined, description: string): Promise<Value> {
    const immediate = check();
    if (immediate !== undefined) return Promise.resolve(immediate);
    return new Promise<Value>((resolve, reject) => {
      const waiter = (): void => {
        const value = check();
        if (value === undefined) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `Waited ${WAIT_LIMIT_MS} ms for ${description}; received ${JSON.stringify(this.messages)}`,
          ),
        );
      }, WAIT_LIMIT_MS);
      this.waiters.add(waiter);
    });
  }
}

/** Resolves once `condition()` holds, checking every 10 ms; rejects after a bound. */
export function eventually(condition: () => boolean, description: string): Promise<void> {
  return waitUntil(condition, description, WAIT_LIMIT_MS);
}

/** The built CLI (`pnpm --filter @enclave-vm/runtime build` produces it). */
export const CLI_PATH = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** A runtime worker started as a child process through the CLI. */
export interface CliWorker {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node dist/cli.js ...arguments` without waiting for anything. */
export function runCli(cliArguments: string[], environment: NodeJS.ProcessEnv = {}): CliWorker {
  const child = spawn(process.execPath, [CLI_PATH, ...cliArguments], {
    env: { ...process.env, ENCLAVE_RUNTIME_TOKEN: '', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => output, exited };
}

/** A CLI worker that has logged where it listens. */
export type StartedCliWorker = CliWorker & { readonly url: string };

/** Starts the CLI on a free port and resolves with its URL once it logs where it listens. */
export async function startCliWorker(
  cliArguments: string[] = [],
  environment: NodeJS.ProcessEnv = {},
): Promise<StartedCliWorker> {
  const worker = runCli(['--port', '0', '--pool-size', '1', ...cliArguments], environment);
  let url: string | undefined;
  let exitedEarly = false;
  void worker.exited.then(() => {
    exitedEarly = true;
  });
  await eventually(() => {
    url = /Listening on (ws:\/\/\S+)/.exec(worker.output())?.[1];
    return url !== undefined || exitedEarly;
  }, 'the CLI to log where it listens');
  if (url === undefined) throw new Error(`The CLI exited before listening:\n${worker.output()}`);
  return { ...worker, url };
}

/** Kills a CLI worker that is still running (test clean-up). */
export async function killCliWorker(worker: CliWorker | undefined): Promise<void> {
  if (worker === undefined || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGKILL');
  await worker.exited;
}
