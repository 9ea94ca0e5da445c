/**
 * A bidirectional message channel carrying JSON-compatible values (after the MCP TypeScript SDK's
 * `Transport`). Implementations frame and move messages; encryption and reconnection wrap a
 * transport instead of being special cases inside one.
 *
 * Lifecycle: call `start()` once, after setting the callbacks; `send()` is allowed only between a
 * resolved `start()` and `close()`. `onclose` fires exactly once, whichever side closed.
 */
export interface Transport {
  /**
   * Opens the channel. Resolves once messages can be sent; rejects with an `EnclaveError`
   * (`CONNECTION_CLOSED`) when the channel cannot be opened.
   */
  start(): Promise<void>;
  /**
   * Sends one message. Rejects with an `EnclaveError` (`CONNECTION_CLOSED`) when the transport is
   * not open, or `BAD_REQUEST` when the message cannot be serialized.
   */
  send(message: unknown): Promise<void>;
  /** Closes the channel. Idempotent; resolves when `onclose` has fired. */
  close(): Promise<void>;
  /** Called for every message received, in order of arrival. */
  onmessage?: (message: unknown) => void;
  /** Called when something goes wrong that does not by itself close the channel (or just before it does). */
  onerror?: (error: Error) => void;
  /** Called once when the channel has closed, from either side. */
  onclose?: () => void;
}
