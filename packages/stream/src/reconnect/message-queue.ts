import type { EnclaveError } from '@enclave-vm/types';

/**
 * Messages pushed by callbacks (a transport's `onmessage`) and taken in batches by an async reader:
 * {@link take} resolves with everything that arrived since the last take, or, once nothing is left,
 * rejects with the failure that ended the channel.
 */
export class MessageQueue<T> {
  private items: T[] = [];
  private failure: EnclaveError | undefined;
  private waiter: { resolve: (items: T[]) => void; reject: (error: EnclaveError) => void } | undefined;

  /** Adds a message; ignored after {@link fail}. */
  push(item: T): void {
    if (this.failure !== undefined) return;
    this.items.push(item);
    this.wake();
  }

  /** Ends the queue: the messages already in it are still taken, then `error` is thrown. The first failure wins. */
  fail(error: EnclaveError): void {
    this.failure ??= error;
    this.wake();
  }

  /** The messages that arrived since the last take, waiting for at least one. */
  take(): Promise<T[]> {
    if (this.items.length > 0 || this.failure !== undefined) {
      return this.items.length > 0 ? Promise.resolve(this.drain()) : Promise.reject(this.failure);
    }
    return new Promise<T[]>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private drain(): T[] {
    const items = this.items;
    this.items = [];
    return items;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    if (this.items.length > 0) waiter.resolve(this.drain());
    else if (this.failure !== undefined) waiter.reject(this.failure);
  }
}
