import { ReconnectingStream, type SequencedMessage, type WebSocketConstructor } from '@enclave-vm/stream';
import { EnclaveError, toEnclaveError } from '@enclave-vm/types';
import type { RetryPolicy } from '../shared/retry-policy.js';
import type { BatchHandler, BatchOutcome } from './batch-handler.js';

/** Options of {@link followOverWebSocket}. */
export interface FollowOverWebSocketOptions {
  /** `ws(s)://…/sessions/stream`. */
  url: string;
  sessionId: string;
  /** The first seq wanted. */
  fromSeq: number;
  WebSocket: WebSocketConstructor | undefined;
  /** Credentials for the subscribe message. */
  token: string | undefined;
  retry: RetryPolicy;
  heartbeatTimeout: number;
  onBatch: BatchHandler;
  /** Stops following. */
  signal: AbortSignal;
  /**
   * Hand the messages that arrived while a batch was handled over together, as the next batch
   * (an encrypted session then opens them with overlapping decryptions), rather than one by one.
   * @default false
   */
  coalesce?: boolean;
}

/**
 * Follows a session's events over the broker's WebSocket endpoint with a `ReconnectingStream`
 * (which reconnects, resubscribes from the next seq and orders events), handing each event to
 * `onBatch` in turn (or, with `coalesce`, those that arrived meanwhile together). Resolves after `final` or when stopped; rejects with the error that ended the
 * stream (`RECONNECT_FAILED`, a non-retryable `stream_error` such as `SESSION_NOT_FOUND`) or that
 * `onBatch` threw.
 */
export function followOverWebSocket(options: FollowOverWebSocketOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let processing: Promise<BatchOutcome> = Promise.resolve('continue');
    // With `coalesce`: messages received and not yet handed over; a step is scheduled for them.
    let queued: SequencedMessage[] = [];
    const settle = (error?: EnclaveError): void => {
      if (settled) return;
      settled = true;
      options.signal.removeEventListener('abort', onAbort);
      void stream.close();
      if (error === undefined) resolve();
      else reject(error);
    };
    const stream = new ReconnectingStream<SequencedMessage>({
      url: options.url,
      sessionId: options.sessionId,
      fromSeq: options.fromSeq,
      WebSocket: options.WebSocket,
      token: options.token,
      heartbeatTimeout: options.heartbeatTimeout,
      reconnect: {
        maxAttempts: options.retry.maxAttempts,
        initialDelay: options.retry.initialDelay,
        maxDelay: options.retry.maxDelay,
        backoffMultiplier: options.retry.backoffMultiplier,
        jitter: options.retry.jitter,
      },
      onMessage: (message) => {
        if (options.coalesce === true) {
          queued.push(message);
          // The step scheduled for the first queued message takes this one too.
          if (queued.length > 1) return;
        }
        processing = processing.then(async (previous) => {
          let batch = [message];
          if (options.coalesce === true) {
            batch = queued;
            queued = [];
          }
          if (settled || previous === 'final') return previous;
          try {
            const outcome = await options.onBatch(batch, false);
            if (outcome === 'final') settle();
            return outcome;
          } catch (error) {
            settle(toEnclaveError(error));
            return 'final';
          }
        });
      },
      onClose: (error) => {
        // Events already received are processed before the ending is decided.
        void processing.then(() => {
          if (options.signal.aborted) settle();
          else settle(error ?? new EnclaveError('CONNECTION_CLOSED', 'The event stream closed before final'));
        });
      },
    });
    const onAbort = (): void => settle();
    if (options.signal.aborted) {
      settle();
      return;
    }
    options.signal.addEventListener('abort', onAbort, { once: true });
    stream.connect().catch(() => undefined);
  });
}
