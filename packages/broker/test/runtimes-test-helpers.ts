import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ExecutionHandle, SessionExecutor } from '@enclave-vm/runtime';
import { waitUntil } from '@enclave-vm/test-utils';
import { type RuntimeEvent, resolveLimits } from '@enclave-vm/types';
import { resolveRuntimeCli } from '../src/runtimes/resolve-runtime-cli.js';

/** Limits of test sessions: the default preset. */
export const TEST_LIMITS = resolveLimits('STANDARD');

/** One run started in a test, with every event it emitted so far. */
export interface RecordedRun {
  readonly handle: ExecutionHandle;
  readonly events: RuntimeEvent[];
  /** Resolves with the call id of the run's next unanswered tool call. */
  nextToolCall(): Promise<string>;
}

let nextSession = 1;

/** Starts `code` on `executor` and records its events. */
export function startRun(executor: SessionExecutor, code: string): RecordedRun {
  const events: RuntimeEvent[] = [];
  let seen = 0;
  const handle = executor.execute(
    { sessionId: `ses_runtimes_${process.pid}_${nextSession++}`, code, limits: TEST_LIMITS },
    (event) => {
      events.push(event);
    },
  );
  return {
    handle,
    events,
    async nextToolCall() {
      await waitUntil(
        () => events.filter((event) => event.type === 'tool_call').length > seen,
        'a tool call',
        10_000,
      );
      const calls = events.filter((event) => event.type === 'tool_call');
      const call = calls[seen];
      seen += 1;
      if (call?.type !== 'tool_call') throw new Error('no tool call');
      return call.payload.callId;
    },
  };
}

export { freePort, waitUntil } from '@enclave-vm/test-utils';

/** A runtime worker started as its own process with the `enclave-runtime` command. */
export interface RuntimeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  readonly exited: Promise<void>;
}

/** Starts `enclave-runtime --port <port> --pool-size 1` and resolves once it listens. */
export async function startRuntimeProcess(port = 0, authToken?: string): Promise<RuntimeProcess> {
  const child = spawn(
    process.execPath,
    [
      resolveRuntimeCli(),
      '--port',
      String(port),
      '--pool-size',
      '1',
      ...(authToken ? ['--auth-token', authToken] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('enclave-runtime did not start within 15 s')), 15_000);
    createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> }).on('line', (line) => {
      const match = /Listening on (ws:\/\/\S+)/.exec(line);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`enclave-runtime exited with ${String(code)}`));
    });
  });
  return { child, url, port: Number(new URL(url).port), exited };
}

/** Kills a runtime process (SIGKILL) and waits for it to be gone. */
export async function killRuntimeProcess(runtime: RuntimeProcess | undefined): Promise<void> {
  if (runtime === undefined || runtime.child.exitCode !== null || runtime.child.signalCode !== null) return;
  runtime.child.kill('SIGKILL');
  await runtime.exited;
}

/** Whether an operating-system process is alive. */
export function isProcessAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs one process by pid. Refuses a missing or non-positive pid: `process.kill(0, …)` would
 * signal the whole process group, the test runner included.
 */
export function killProcess(pid: number | undefined): void {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`refusing to kill pid ${String(pid)}: no such runtime process`);
  }
  process.kill(pid, 'SIGKILL');
}
