import { EnclaveError, toEnclaveError } from '@enclave-vm/types';
import { serializeMessage } from './serialize-message.js';
import type { Transport } from './transport.js';

type Delivery = { readonly kind: 'message'; readonly text: string } | { readonly kind: 'close' };

/**
 * One end of a linked in-memory pair (see {@link createInMemoryTransportPair}). Messages travel as
 * JSON text, as they would over a socket, so the receiver gets a copy and unserializable values are
 * rejected at `send`. Delivery is asynchronous and in order; messages sent before the peer started
 * wait for its `start()`.
 */
export class InMemoryTransport implements Transport {
  /** Called for every message received. */
  onmessage?: (message: unknown) => void;
  /**
   * Called with what `onmessage` threw (wrapped as `INTERNAL_ERROR`), so that one failing handler
   * does not stop later deliveries. Without `onerror` the error is rethrown asynchronously.
   */
  onerror?: (error: Error) => void;
  /** Called once when either end closed. */
  onclose?: () => void;

  private peer: InMemoryTransport | undefined;
  private started = false;
  private closed = false;
  private readonly inbox: Delivery[] = [];
  private drainScheduled = false;

  /** Links two ends; {@link createInMemoryTransportPair} is the way to get a linked pair. */
  static link(first: InMemoryTransport, second: InMemoryTransport): void {
    first.peer = second;
    second.peer = first;
  }

  /** Starts receiving; messages the peer sent before now are delivered next. */
  async start(): Promise<void> {
    if (this.closed) throw new EnclaveError('CONNECTION_CLOSED', 'The in-memory transport is closed');
    if (this.started)
      throw new EnclaveError('CONFIGURATION_ERROR', 'The in-memory transport was already started');
    this.started = true;
    this.scheduleDrain();
  }

  /** Sends one message to the peer. Rejects once either end closed. */
  async send(message: unknown): Promise<void> {
    if (!this.started || this.closed) {
      throw new EnclaveError(
        'CONNECTION_CLOSED',
        this.closed ? 'The in-memory transport is closed' : 'The in-memory transport was not started',
      );
    }
    const text = serializeMessage(message);
    this.peer?.receive({ kind: 'message', text });
  }

  /**
   * Closes this end now and the peer after it has received everything sent before (as a socket's
   * closing handshake would).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.finish();
    this.peer?.receive({ kind: 'close' });
  }

  private receive(delivery: Delivery): void {
    if (this.closed) return;
    this.inbox.push(delivery);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (!this.started || this.drainScheduled || this.inbox.length === 0) return;
    this.drainScheduled = true;
    queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.drainScheduled = false;
    while (!this.closed) {
      const delivery = this.inbox.shift();
      if (delivery === undefined) return;
      if (delivery.kind === 'close') {
        this.finish();
        return;
      }
      try {
        this.onmessage?.(JSON.parse(delivery.text));
      } catch (error) {
        this.reportHandlerError(error);
      }
    }
  }

  private reportHandlerError(error: unknown): void {
    const onerror = this.onerror;
    if (onerror === undefined) {
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    onerror(toEnclaveError(error));
  }

  private finish(): void {
    this.closed = true;
    this.inbox.length = 0;
    this.onclose?.();
  }
}

/**
 * Creates two linked in-memory transports: what one sends, the other receives; closing one closes
 * the other. For tests and for wiring components inside one process.
 *
 * @example
 * const [client, server] = createInMemoryTransportPair();
 * server.onmessage = (message) => server.send(message);
 * await Promise.all([client.start(), server.start()]);
 */
export function createInMemoryTransportPair(): [Transport, Transport] {
  const first = new InMemoryTransport();
  const second = new InMemoryTransport();
  InMemoryTransport.link(first, second);
  return [first, second];
}
