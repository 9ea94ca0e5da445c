import type {
  EnclaveError,
  EventFilter,
  LogEvent,
  LogPayload,
  StdoutEvent,
  StreamEvent,
  ToolCallEvent,
  ToolCallPayload,
} from '@enclave-vm/types';
import type { ApprovalHandler } from './approvals/approval-request.js';
import type { ClientTransport } from './enclave-client-options.js';
import type { SessionStore } from './store/session-store.js';
import type { ClientTools } from './tools/client-tool.js';

/** Callbacks and options shared by {@link ClientExecuteOptions} and {@link ResumeOptions}. */
export interface FollowOptions {
  /**
   * Which events are delivered (to the iteration, `events`, the store and the callbacks).
   * `session_init` and `final` always are. Tool calls are still answered when `tool_call` is
   * filtered out.
   */
  filter?: EventFilter;
  /** Aborting it cancels the session (`DELETE /sessions/:id`), like `cancel()`. */
  signal?: AbortSignal;
  /** Called with every delivered event, in seq order. */
  onEvent?: (event: StreamEvent) => void;
  /** Called with every `stdout` chunk (one `console.log` call, newline included). */
  onStdout?: (chunk: string, event: StdoutEvent) => void;
  /** Called with every `log` event's payload (`console.debug/info/warn/error`). */
  onLog?: (log: LogPayload, event: LogEvent) => void;
  /** Called with every tool call the code makes, whoever answers it. */
  onToolCall?: (call: ToolCallPayload, event: ToolCallEvent) => void;
  /**
   * Called with errors that do not end the session: an error thrown by one of the callbacks above,
   * or a client tool result the broker refused. Without it, callback errors are rethrown
   * asynchronously (reported like an uncaught error) and refused results are dropped.
   */
  onError?: (error: EnclaveError) => void;
  /** Client tools for this session; each overrides the client's tool of the same name. */
  tools?: ClientTools;
  /**
   * Decides the tool calls that require a person's approval (`approval_required`), e.g. by asking
   * the user: `true` or `{ approved: true }` lets the tool run, `false` or
   * `{ approved: false, reason }` denies it (the call throws `APPROVAL_DENIED` in the code). Without
   * it the approvals wait in the store's `pendingApprovals` for `approve(callId)` or
   * `deny(callId, reason)` (on the handle or the store), or for a decision made elsewhere.
   *
   * @example
   * onApproval: async ({ toolName, args }) => window.confirm(`Allow ${toolName}(${JSON.stringify(args)})?`)
   */
  onApproval?: ApprovalHandler;
  /**
   * The store the session records into. It is reset when the session starts, and a store given to
   * a later session stops recording this one. Lets a UI keep one store across runs.
   * @default a new store, the handle's `store`
   */
  store?: SessionStore;
  /**
   * How the events are followed.
   * @default the client's `transport`
   */
  transport?: ClientTransport;
}

/** Options of `EnclaveClient.execute`. */
export interface ClientExecuteOptions extends FollowOptions {
  /** Wall-clock timeout of the run in ms; the broker caps it at its security level's. */
  timeout?: number;
  /** Most tool calls the code may make; the broker caps it at its security level's. */
  maxToolCalls?: number;
  /** Read-only JSON data the code sees as `context`. */
  context?: Record<string, unknown>;
  /**
   * Encrypt this session end to end.
   * @default the client's `encryption`
   */
  encryption?: boolean;
}

/**
 * The options of `EnclaveClient.execute`, under the name they had before the broker's
 * `ExecuteOptions` (the options of `broker.execute`) and these were told apart.
 *
 * @deprecated Use {@link ClientExecuteOptions}.
 */
export type ExecuteOptions = ClientExecuteOptions;

/** Options of `EnclaveClient.resume`. */
export interface ResumeOptions extends FollowOptions {
  /**
   * The key pair of the handle that started an encrypted session (its `keyPair`), kept across the
   * reload (a `CryptoKey` can be stored in IndexedDB without being extractable). Needed to open the
   * events of an encrypted session.
   */
  keyPair?: CryptoKeyPair;
}

/** Options of the client's one-shot requests (`getSession`, `health`, `listActions`, `getDeclarations`). */
export interface RequestOptions {
  /** Aborts the request; it then rejects with `CANCELLED`. */
  signal?: AbortSignal;
}
