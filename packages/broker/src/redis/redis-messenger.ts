import { randomUUID } from 'node:crypto';
import { EnclaveError, type Logger } from '@enclave-vm/types';
import type { Redis } from 'ioredis';
import type { BrokerReply, BrokerRequest } from '../sessions/session-store.js';
import type { RedisKeys } from './redis-keys.js';

/** A message on a broker's channel. */
type ChannelMessage =
  | { kind: 'request'; id: string; from: string; request: BrokerRequest }
  | { kind: 'reply'; id: string; reply: BrokerReply };

interface PendingRequest {
  readonly resolve: (reply: BrokerReply) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Requests between brokers over Redis pub/sub: each broker subscribes to its own channel (on a
 * dedicated connection); a request is published to the channel of the broker that runs the
 * session, and the reply to the channel of the broker that asked. A request nobody receives (the
 * broker is gone) fails at once; one without a reply fails after its timeout.
 */
export class RedisMessenger {
  private readonly pending = new Map<string, PendingRequest>();
  private brokerId: string | undefined;
  private onRequest: ((request: BrokerRequest) => Promise<BrokerReply>) | undefined;

  constructor(
    private readonly subscriber: Redis,
    private readonly commands: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {
    subscriber.on('message', (channel: string, text: string) => this.receive(channel, text));
  }

  /** Subscribes to the channel of broker `brokerId`; its requests go to `onRequest`. */
  async listen(brokerId: string, onRequest: (request: BrokerRequest) => Promise<BrokerReply>): Promise<void> {
    this.brokerId = brokerId;
    this.onRequest = onRequest;
    await this.subscriber.subscribe(this.keys.brokerChannel(brokerId));
  }

  /** Stops answering requests; pending ones fail. */
  async stop(): Promise<void> {
    const brokerId = this.brokerId;
    this.onRequest = undefined;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new EnclaveError('SHUTTING_DOWN', 'The broker is shutting down'));
      this.pending.delete(id);
    }
    if (brokerId !== undefined && this.subscriber.status === 'ready') {
      await this.subscriber.unsubscribe(this.keys.brokerChannel(brokerId)).catch(() => undefined);
    }
  }

  /** See `BrokerMembership.request`. */
  async request(target: string, request: BrokerRequest, timeoutMs: number): Promise<BrokerReply> {
    const from = this.brokerId;
    if (from === undefined) throw new EnclaveError('INTERNAL_ERROR', 'The broker has not joined the store');
    const id = randomUUID();
    const reply = new Promise<BrokerReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EnclaveError('BROKER_LOST', `Broker ${target} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
    });
    let receivers: number;
    try {
      receivers = await this.commands.publish(
        this.keys.brokerChannel(target),
        JSON.stringify({ kind: 'request', id, from, request } satisfies ChannelMessage),
      );
    } catch (error) {
      this.settle(id)?.reject(storeUnavailable(error));
      return reply;
    }
    if (receivers === 0) {
      this.settle(id)?.reject(new EnclaveError('BROKER_LOST', `Broker ${target} is not listening`));
    }
    return reply;
  }

  private receive(channel: string, text: string): void {
    if (this.brokerId === undefined || channel !== this.keys.brokerChannel(this.brokerId)) return;
    let message: ChannelMessage;
    try {
      message = JSON.parse(text) as ChannelMessage;
    } catch {
      this.logger.warn('Ignored a malformed message between brokers', { channel });
      return;
    }
    if (message.kind === 'reply') {
      this.settle(message.id)?.resolve(message.reply);
      return;
    }
    if (message.kind === 'request') void this.answer(message);
  }

  private async answer(message: Extract<ChannelMessage, { kind: 'request' }>): Promise<void> {
    const onRequest = this.onRequest;
    const reply: BrokerReply =
      onRequest === undefined
        ? { ok: false, error: { code: 'SHUTTING_DOWN', message: 'The broker is shutting down' } }
        : await onRequest(message.request).catch((error: unknown) => ({
            ok: false as const,
            error: {
              code: 'INTERNAL_ERROR',
              message: error instanceof Error ? error.message : String(error),
            },
          }));
    try {
      await this.commands.publish(
        this.keys.brokerChannel(message.from),
        JSON.stringify({ kind: 'reply', id: message.id, reply } satisfies ChannelMessage),
      );
    } catch (error) {
      this.logger.warn('Could not reply to another broker', {
        to: message.from,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private settle(id: string): PendingRequest | undefined {
    const pending = this.pending.get(id);
    if (pending === undefined) return undefined;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}

/** The error of a Redis command that failed for lack of a connection (or any other reason). */
export function storeUnavailable(error: unknown): EnclaveError {
  if (EnclaveError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EnclaveError('STORE_UNAVAILABLE', `Redis is unavailable: ${message}`, { cause: error });
}
