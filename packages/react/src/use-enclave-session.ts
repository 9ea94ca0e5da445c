import {
  type ApprovalHandler,
  type ApprovalRequest,
  type ClientExecuteOptions,
  type ClientTools,
  createSessionStore,
  type ExecutionOutcome,
  type ExecutionSession,
  type FollowOptions,
  type LogEntry,
  type SessionState,
  type ToolCallRecord,
} from '@enclave-vm/client';
import { type EnclaveError, type ExecutionStats, type StreamEvent, toEnclaveError } from '@enclave-vm/types';
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { useEnclaveContext } from './enclave-context.js';
import type { JsonValue } from './json-value.js';
import { latestTools } from './latest-tools.js';
import { useLatest } from './use-latest.js';

/** Callbacks of a session, called with its events as they arrive. */
export type EnclaveSessionCallbacks = Pick<
  FollowOptions,
  'onEvent' | 'onStdout' | 'onLog' | 'onToolCall' | 'onError'
>;

/** Options of {@link useEnclaveSession}. Callbacks and tools are read at call time, never stale. */
export interface UseEnclaveSessionOptions extends EnclaveSessionCallbacks {
  /**
   * Client-side tools of this component's sessions; they override the provider's tools of the same
   * name.
   */
  tools?: ClientTools;
  /**
   * Decides the tool calls of this component's sessions that require approval (see the client's
   * `onApproval`); an `onApproval` given to `execute` takes precedence. Read at call time. Without
   * either, approvals wait in `pendingApprovals` for `approve` or `deny`.
   */
  onApproval?: ApprovalHandler;
  /**
   * Cancel the running session when the component unmounts. Otherwise the session runs on to its
   * end (its tool calls are still answered) and its result is simply no longer shown.
   * @default false
   */
  cancelOnUnmount?: boolean;
}

/**
 * Options of one `execute` call: the client's execute options (`timeout`, `maxToolCalls`,
 * `context`, `tools`, `filter`, `signal`, callbacks, …) except `store`, which the hook owns.
 * Callbacks given here are called after the hook's own.
 */
export type EnclaveExecuteOptions = Omit<ClientExecuteOptions, 'store'>;

/** What {@link useEnclaveSession} returns: the state of the latest session and what to do with it. */
export interface EnclaveSessionValue {
  /**
   * Runs code on the broker and resolves with its outcome once it ended. A session that is still
   * running is cancelled first: the latest `execute` wins. Never rejects: a failed, timed-out or
   * cancelled run resolves with `ok: false` and `error`, and so does a run that could not be started
   * or followed (its `stats` are then all zero).
   */
  execute(code: string, options?: EnclaveExecuteOptions): Promise<ExecutionOutcome>;
  /**
   * Cancels the running session and resolves once it ended (state `cancelled`). Does nothing when no
   * session is running. Never rejects; a refusal by the broker goes to `onError`.
   */
  cancel(): Promise<void>;
  /** Cancels the running session, if any, and goes back to `idle` with nothing recorded. */
  reset(): void;
  /** `idle`, then `running`, then `completed`, `error` or `cancelled`. */
  state: SessionState;
  /** Everything the code printed with `console.log`, so far. */
  stdout: string;
  /** `console.debug/info/warn/error` messages, so far. */
  logs: readonly LogEntry[];
  /**
   * Every tool call of the session, with its arguments, status (`pending`, `completed`, `error`),
   * result, and for a tool that requires approval its `approval` (`pending`, `approved`, `denied`,
   * `timed_out`, with the reason and who decided).
   */
  toolCalls: readonly ToolCallRecord[];
  /** Tool calls waiting for a person's approval, in the order they asked. */
  pendingApprovals: readonly ApprovalRequest[];
  /**
   * Approves a call of `pendingApprovals`: the tool runs. Resolves once the broker took the
   * decision; rejects with its error (`APPROVAL_ALREADY_RESOLVED` when it was decided meanwhile,
   * `APPROVAL_NOT_FOUND`, `SESSION_ENDED`).
   */
  approve(callId: string): Promise<void>;
  /**
   * Denies a call of `pendingApprovals`: it throws `APPROVAL_DENIED` inside the code, with `reason`.
   * Resolves and rejects like `approve`.
   */
  deny(callId: string, reason?: string): Promise<void>;
  /** What the code returned, once `completed` (`undefined` before, or when it returned nothing). */
  result: JsonValue | undefined;
  /** Why the session failed, once `error` or `cancelled`: an `EnclaveError` with a `code` and `message`. */
  error: EnclaveError | undefined;
  /** Duration, CPU time, tool calls and stdout bytes of the run, once it ended. */
  stats: ExecutionStats | undefined;
  /** The session id, once the broker accepted the session. */
  sessionId: string | undefined;
  /** Every event of the session so far, in seq order. */
  events: readonly StreamEvent[];
}

/** Stats of a run that never reached its `final` event. */
const NO_STATS: ExecutionStats = Object.freeze({ durationMs: 0, cpuTimeMs: 0, toolCalls: 0, stdoutBytes: 0 });

/**
 * Runs code on the broker of the nearest `EnclaveProvider` and re-renders as the session streams:
 * state, stdout, logs, tool calls, result, error. Each component that calls it has its own session;
 * a new `execute` cancels the one still running. Throws a `CONFIGURATION_ERROR` outside of a provider.
 *
 * @example
 * const { execute, state, stdout, result, error } = useEnclaveSession();
 * await execute(`console.log('Hello from the sandbox!'); return 42;`);
 */
export function useEnclaveSession(options: UseEnclaveSessionOptions = {}): EnclaveSessionValue {
  const { client, tools: providerTools } = useEnclaveContext('useEnclaveSession');
  const [store] = useState(createSessionStore);
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const latestOptions = useLatest(options);
  const hookTools = useLatest(options.tools);
  const currentSession = useRef<ExecutionSession | undefined>(undefined);

  const reportError = useCallback(
    (error: EnclaveError): void => {
      const onError = latestOptions.current.onError;
      if (onError !== undefined) onError(error);
      else
        queueMicrotask(() => {
          throw error;
        });
    },
    [latestOptions],
  );

  const execute = useCallback(
    async (code: string, executeOptions: EnclaveExecuteOptions = {}): Promise<ExecutionOutcome> => {
      const previous = currentSession.current;
      const onApproval = executeOptions.onApproval ?? latestApprovalHandler(latestOptions);
      const session = client.execute(code, {
        ...executeOptions,
        ...combineCallbacks(latestOptions, executeOptions),
        tools: latestTools(providerTools, hookTools, executeOptions.tools),
        ...(onApproval === undefined ? {} : { onApproval }),
        store,
      });
      currentSession.current = session;
      // The new session already records into the store; the superseded one must not run on unseen.
      if (previous !== undefined)
        previous.cancel().catch((error: unknown) => reportError(toEnclaveError(error)));
      try {
        return await session.result;
      } catch (error) {
        return { ok: false, error: toEnclaveError(error), stats: NO_STATS };
      }
    },
    [client, store, providerTools, hookTools, latestOptions, reportError],
  );

  const cancel = useCallback(async (): Promise<void> => {
    const session = currentSession.current;
    if (session === undefined) return;
    try {
      await session.cancel();
    } catch (error) {
      reportError(toEnclaveError(error));
      return;
    }
    // How it ended is in the store already, including a session that could not be followed.
    await session.result.catch(() => undefined);
  }, [reportError]);

  const reset = useCallback((): void => {
    const session = currentSession.current;
    currentSession.current = undefined;
    store.reset();
    session?.cancel().catch((error: unknown) => reportError(toEnclaveError(error)));
  }, [store, reportError]);

  useEffect(
    () => () => {
      if (latestOptions.current.cancelOnUnmount !== true) return;
      currentSession.current?.cancel().catch(() => undefined);
    },
    [latestOptions],
  );

  return useMemo(
    () => ({
      execute,
      cancel,
      reset,
      state: snapshot.state,
      stdout: snapshot.stdout,
      logs: snapshot.logs,
      toolCalls: snapshot.toolCalls,
      pendingApprovals: snapshot.pendingApprovals,
      approve: store.approve,
      deny: store.deny,
      // Results cross the sandbox boundary as JSON, so this is what the code returned.
      result: snapshot.result as JsonValue | undefined,
      error: snapshot.error,
      stats: snapshot.stats,
      sessionId: snapshot.sessionId,
      events: snapshot.events,
    }),
    [execute, cancel, reset, snapshot, store],
  );
}

/**
 * The hook's `onApproval` as of the latest render, looked up when an approval is asked; `undefined`
 * when the hook has none at `execute` time (the approvals then wait for `approve` and `deny`).
 */
function latestApprovalHandler(hookOptions: {
  readonly current: UseEnclaveSessionOptions;
}): ApprovalHandler | undefined {
  if (hookOptions.current.onApproval === undefined) return undefined;
  return (request, context) => {
    const handler = hookOptions.current.onApproval;
    // Removed since execute: the approval waits for approve or deny, as without a handler.
    if (handler === undefined) {
      return new Promise<boolean>((resolve) =>
        context.signal.addEventListener('abort', () => resolve(false), { once: true }),
      );
    }
    return handler(request, context);
  };
}

/**
 * The callbacks handed to the client: the hook's (looked up at call time) followed by the call's.
 * `onError` is only handed over when one of them exists, so that the client's default — rethrowing
 * a callback's error asynchronously — stays in force otherwise.
 */
function combineCallbacks(
  hookOptions: { readonly current: UseEnclaveSessionOptions },
  callOptions: EnclaveSessionCallbacks,
): EnclaveSessionCallbacks {
  const callbacks: EnclaveSessionCallbacks = {
    onEvent: (event) => {
      hookOptions.current.onEvent?.(event);
      callOptions.onEvent?.(event);
    },
    onStdout: (chunk, event) => {
      hookOptions.current.onStdout?.(chunk, event);
      callOptions.onStdout?.(chunk, event);
    },
    onLog: (log, event) => {
      hookOptions.current.onLog?.(log, event);
      callOptions.onLog?.(log, event);
    },
    onToolCall: (call, event) => {
      hookOptions.current.onToolCall?.(call, event);
      callOptions.onToolCall?.(call, event);
    },
  };
  if (hookOptions.current.onError !== undefined || callOptions.onError !== undefined) {
    callbacks.onError = (error) => {
      hookOptions.current.onError?.(error);
      callOptions.onError?.(error);
    };
  }
  return callbacks;
}
