/**
 * Shared helpers of the sandbox, limits, pool and escape suites: run code on a real executor
 * (QuickJS in this thread, or the worker-thread pool), answer its tool calls with plain functions,
 * and collect what a user would see.
 */
import { performance } from 'node:perf_hooks';
import {
  type FinalPayload,
  type RuntimeEvent,
  resolveLimits,
  type SessionLimits,
  type SessionLimitsOverride,
  type WireError,
} from '@enclave-vm/types';
import type { ExecutionHandle, SessionExecutor } from '../src/executor/execution-types.js';

/** Limits for tests: generous enough for slow shared machines, small enough to keep the suite fast. */
export function testLimits(overrides: SessionLimitsOverride = {}): SessionLimits {
  return resolveLimits('STANDARD', { timeout: 5_000, maxCpuTime: 5_000, toolTimeout: 5_000, ...overrides });
}

/** A tool handler: returns (or resolves to) the result; throwing gives the guest an error. */
export type TestTool = (args: unknown) => unknown;

/** Options of {@link runCode}. */
export interface RunCodeOptions {
  /** Limit overrides on top of {@link testLimits}. */
  limits?: SessionLimitsOverride;
  /** The guest's `context`. */
  context?: Record<string, unknown>;
  /** Tool handlers by name; a call to another name gets a `TOOL_NOT_FOUND` error. */
  tools?: Record<string, TestTool>;
  /** Leave tool calls unanswered (for timeout tests). */
  ignoreToolCalls?: boolean;
  /** Session id. @default a fresh one */
  sessionId?: string;
  /** Called with the handle as soon as the run starts. */
  onStart?: (handle: ExecutionHandle) => void;
}

/** What a run produced. */
export interface RunOutcome {
  /** Every event, in order. */
  events: RuntimeEvent[];
  /** The final payload. */
  final: FinalPayload;
  /** The error of a failed run. */
  error: WireError | undefined;
  /** All stdout chunks joined. */
  stdout: string;
  /** Wall-clock ms from execute to final, measured by the test. */
  elapsedMs: number;
  /** `performance.now()` when the final arrived. */
  endedAt: number;
}

let sessionCounter = 0;

/** Runs code on an executor to its end. */
export async function runCode(
  executor: SessionExecutor,
  code: string,
  options: RunCodeOptions = {},
): Promise<RunOutcome> {
  const events: RuntimeEvent[] = [];
  sessionCounter += 1;
  const sessionId = options.sessionId ?? `test_${process.pid}_${sessionCounter}`;
  const started = performance.now();
  let handle: ExecutionHandle | undefined;
  const pending: { callId: string; toolName: string; args: unknown }[] = [];
  const answer = (call: { callId: string; toolName: string; args: unknown }, target: ExecutionHandle) => {
    const tools = options.tools ?? {};
    const tool = Object.hasOwn(tools, call.toolName) ? tools[call.toolName] : undefined;
    if (tool === undefined) {
      target.submitToolResult(call.callId, {
        ok: false,
        error: { code: 'TOOL_NOT_FOUND', message: `No tool named ${call.toolName}` },
      });
      return;
    }
    Promise.resolve()
      .then(() => tool(call.args))
      .then(
        (result) => target.submitToolResult(call.callId, { ok: true, result }),
        (error: unknown) => {
          const failure = error as { code?: unknown; message?: unknown };
          target.submitToolResult(call.callId, {
            ok: false,
            error: {
              code: typeof failure?.code === 'string' ? failure.code : 'TOOL_ERROR',
              message: typeof failure?.message === 'string' ? failure.message : String(error),
            },
          });
        },
      )
      .catch(() => undefined);
  };
  handle = executor.execute(
    { sessionId, code, limits: testLimits(options.limits), context: options.context },
    (event) => {
      events.push(event);
      if (event.type !== 'tool_call' || options.ignoreToolCalls) return;
      if (handle === undefined) pending.push(event.payload);
      else answer(event.payload, handle);
    },
  );
  for (const call of pending.splice(0)) answer(call, handle);
  options.onStart?.(handle);
  const final = await handle.done;
  const endedAt = performance.now();
  const elapsedMs = endedAt - started;
  return {
    events,
    final,
    error: final.error,
    stdout: events.map((event) => (event.type === 'stdout' ? event.payload.chunk : '')).join(''),
    elapsedMs,
    endedAt,
  };
}

/** A limit-breaking run and a plain `return 1 + 2` started while it runs. */
export interface BombOutcome {
  /** The limit-breaking run. */
  bomb: RunOutcome;
  /** The plain run started alongside. */
  bystander: RunOutcome;
}

/**
 * Runs `code` and, once it has started, a plain `return 1 + 2` session on the same executor: the
 * bystander shows whether the bomb affects anyone else.
 */
export async function runWithBystander(
  executor: SessionExecutor,
  code: string,
  options: RunCodeOptions = {},
): Promise<BombOutcome> {
  const bomb = runCode(executor, code, options);
  await sleep(40);
  const bystander = await runCode(executor, 'return 1 + 2');
  return { bomb: await bomb, bystander };
}

/** The types of a run's events, in order. */
export function eventTypes(outcome: RunOutcome): string[] {
  return outcome.events.map((event) => event.type);
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
