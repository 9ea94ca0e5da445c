import type {
  ApprovalDecider,
  CatalogChange,
  Emitter,
  EnclaveError,
  Logger,
  ToolAnswerer,
  Unsubscribe,
  WireError,
} from '@enclave-vm/types';
import type { Session } from './sessions/session.js';

/** Details of a tool call, passed as the last argument of `tool:called`. */
export interface ToolCallInfo {
  /** The call's id within the session. */
  callId: string;
  /** `broker` when a registered tool or the `toolHandler` answers it, `client` otherwise. */
  answeredBy: ToolAnswerer;
}

/** Details of an answered tool call, passed as the last argument of `tool:completed`. */
export interface ToolCompletionInfo extends ToolCallInfo {
  /** Whether the guest got a result (`true`) or an error (`false`). */
  ok: boolean;
  /** Ms from the `tool_call` event to the answer. */
  durationMs: number;
  /** The error the guest got, when `ok` is false. */
  error?: WireError;
}

/** Details of a call waiting for approval, passed as the last argument of `approval:required`. */
export interface ApprovalRequestInfo {
  /** The call's id within the session: what `submitApproval` takes. */
  callId: string;
}

/** The decision on an approval, passed as the last argument of `approval:resolved`. */
export interface ApprovalResolutionInfo {
  /** The call's id within the session. */
  callId: string;
  /** Whether the tool may run. */
  approved: boolean;
  /** The reason given with the decision, if any. */
  reason?: string;
  /** Who decided, when the decision came with an authenticated caller. */
  decidedBy?: ApprovalDecider;
  /** `true` when nobody decided within `approvalTimeout` (the call failed with `APPROVAL_TIMEOUT`). */
  timedOut: boolean;
}

/**
 * Listener signatures of `broker.on(...)`. The first three arguments are those of the documented
 * API; the last argument of the tool events adds details.
 */
export interface BrokerEventMap {
  /** A session was created (its `session_init` is logged and it is about to run). */
  'session:created': (session: Session) => void;
  /** A session ended successfully; `result` is what the code returned. Fires once per session. */
  'session:completed': (session: Session, result: unknown) => void;
  /** A session ended with an error (including cancel, expiry and shutdown). Fires once per session. */
  'session:error': (session: Session, error: EnclaveError) => void;
  /** The code called a tool; `args` are the arguments as the code passed them. */
  'tool:called': (session: Session, tool: string, args: unknown, call: ToolCallInfo) => void;
  /**
   * A tool call's answer was handed back to the code. `result` is the result, or `undefined` when
   * the call failed (see `completion.error`).
   */
  'tool:completed': (session: Session, tool: string, result: unknown, completion: ToolCompletionInfo) => void;
  /**
   * A tool call needs a person's approval and waits for it (`approval_required` is logged): answer
   * it with `broker.submitApproval(session.id, request.callId, approved, reason)`, from any broker
   * sharing the store. Fires on the broker running the session.
   */
  'approval:required': (session: Session, tool: string, args: unknown, request: ApprovalRequestInfo) => void;
  /** A call's approval was decided or timed out (`approval_resolved` is logged). */
  'approval:resolved': (session: Session, tool: string, resolution: ApprovalResolutionInfo) => void;
  /**
   * The action catalog changed (an OpenAPI source or an MCP server gained, lost or changed
   * operations or tools): the registry
   * already has the new tools, and running sessions get a `catalog_changed` event with the same
   * payload.
   */
  'catalog:changed': (change: CatalogChange) => void;
}

/** Names of the broker's events. */
export type BrokerEventName = keyof BrokerEventMap;

/**
 * A small typed event emitter. A listener that throws (or returns a rejected promise) is logged and
 * never disturbs the broker or the other listeners.
 */
export class BrokerEventEmitter implements Emitter<BrokerEventMap> {
  private readonly listeners = new Map<BrokerEventName, Set<(...args: never[]) => unknown>>();

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; returns the function that removes it. */
  on<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): Unsubscribe {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => {
      this.off(name, listener);
    };
  }

  /** Adds a listener removed after its first call; returns the function that removes it before then. */
  once<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): Unsubscribe {
    const wrapper = ((...args: Parameters<BrokerEventMap[Name]>) => {
      this.off(name, wrapper);
      return (listener as (...values: Parameters<BrokerEventMap[Name]>) => unknown)(...args);
    }) as BrokerEventMap[Name];
    return this.on(name, wrapper);
  }

  /** Removes a listener. */
  off<Name extends BrokerEventName>(name: Name, listener: BrokerEventMap[Name]): void {
    this.listeners.get(name)?.delete(listener);
  }

  /** Whether anything listens to `name` (lets callers skip building arguments). */
  has(name: BrokerEventName): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  /** Calls every listener of `name` with `args`. */
  emit<Name extends BrokerEventName>(name: Name, ...args: Parameters<BrokerEventMap[Name]>): void {
    const set = this.listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        const returned = (listener as (...values: Parameters<BrokerEventMap[Name]>) => unknown)(...args);
        if (isThenable(returned)) {
          returned.then(undefined, (error: unknown) => this.report(name, error));
        }
      } catch (error) {
        this.report(name, error);
      }
    }
  }

  private report(name: BrokerEventName, error: unknown): void {
    this.logger.error(`A ${name} listener failed`, {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
