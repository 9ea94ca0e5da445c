import type { StreamEvent } from '@enclave-vm/types';
import type { ExecutionOutcome } from './execution-outcome.js';
import type { SessionStore } from './store/session-store.js';

/**
 * The handle of one session, returned at once by `client.execute` and `client.resume`.
 *
 * Iterate it (`for await (const event of session)`) to receive its events in seq order, each exactly
 * once, across reconnections; each iteration starts at the first event, and leaving the loop early
 * does not cancel the session. Or await `result`, read `events`, or subscribe to `store`.
 *
 * @example
 * const session = client.execute('console.log("hi"); return 42');
 * for await (const event of session) console.log(event.seq, event.type);
 * const { ok, result } = await session.result; // true, 42
 */
export interface ExecutionSession extends AsyncIterable<StreamEvent> {
  /** The session id, once the broker answered (`undefined` before; see `ready`). */
  readonly sessionId: string | undefined;
  /**
   * Resolves with the session id once the broker accepted the session. Rejects like `result` when
   * it never did (e.g. `UNAUTHORIZED`, `RATE_LIMITED`, `VALIDATION_ERROR`).
   */
  readonly ready: Promise<string>;
  /**
   * Resolves with the outcome once `final` arrived — also when the code failed, timed out or was
   * cancelled (`ok: false`, `error.code`). Rejects with an `EnclaveError` only when the session
   * could not be started or followed: an error answer to the request, `RECONNECT_FAILED`, a
   * non-retryable resume error (`SESSION_NOT_FOUND`, `EVENT_LOG_TRUNCATED`), `ENCRYPTION_ERROR`.
   */
  readonly result: Promise<ExecutionOutcome>;
  /** The events delivered so far, in seq order. */
  readonly events: readonly StreamEvent[];
  /** The store this session records into (state, stdout, logs, tool calls, result). */
  readonly store: SessionStore;
  /**
   * The ECDH key pair of an encrypted session (undefined otherwise). Keep it (IndexedDB can hold a
   * non-extractable `CryptoKey`) to `client.resume` the session after a reload.
   */
  readonly keyPair: CryptoKeyPair | undefined;
  /**
   * Approves a tool call of this session that waits for approval (see the store's
   * `pendingApprovals`): the tool runs. Resolves once the broker took the decision; rejects with its
   * error (`APPROVAL_NOT_FOUND`, `APPROVAL_ALREADY_RESOLVED`, `SESSION_ENDED`, …). Sealed in an
   * encrypted session.
   */
  approve(callId: string): Promise<void>;
  /**
   * Denies a tool call of this session that waits for approval: the call throws `APPROVAL_DENIED`
   * inside the code, with `reason`. Resolves and rejects like {@link approve}.
   */
  deny(callId: string, reason?: string): Promise<void>;
  /**
   * Asks the broker to cancel the session (`DELETE /sessions/:id`); waits for the session id first
   * when it is not known yet. Resolves once the broker accepted; the session then ends with a
   * `final` whose error code is `CANCELLED` (unless it had already ended). Rejects with the broker's
   * error (e.g. `SESSION_NOT_FOUND`).
   */
  cancel(): Promise<void>;
}
