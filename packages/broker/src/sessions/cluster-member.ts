import { EnclaveError, type Logger } from '@enclave-vm/types';
import type { BrokerMembership, BrokerReply, BrokerRequest, SessionStore } from './session-store.js';

/** Options of {@link ClusterMember.join}. */
export interface ClusterMemberOptions {
  brokerId: string;
  store: SessionStore;
  /** Ms the lease lasts without renewal; renewed every third of it, lost brokers looked for every half. */
  leaseMs: number;
  logger: Logger;
  /** Answers what other brokers ask of this one. */
  onRequest: (request: BrokerRequest) => Promise<BrokerReply>;
  /** Ends one active session of a lost broker (exactly once, whoever else tries). */
  endLostSession: (sessionId: string, lostBrokerId: string) => Promise<void>;
}

/** Sessions of a lost broker read per round trip. */
const REAP_PAGE = 100;

/**
 * One broker's part in the group of brokers sharing a store: it keeps the broker's lease alive,
 * routes requests to the broker that runs a session, and ends the sessions of brokers whose lease
 * lapsed. A broker looks for lost peers only once its own lease has been renewed without a failure
 * for a whole lease period, so that after an outage of the store every live broker has renewed
 * before anyone is judged lost.
 */
export class ClusterMember {
  private readonly renewTimer: NodeJS.Timeout;
  private readonly reapTimer: NodeJS.Timeout;
  /** Since when renewals have succeeded without a failure (undefined after a failure). */
  private healthySince: number | undefined;
  private reaping = false;
  private closed = false;

  private constructor(
    private readonly options: ClusterMemberOptions,
    private readonly membership: BrokerMembership,
  ) {
    this.healthySince = Date.now();
    this.renewTimer = setInterval(() => void this.renew(), Math.max(1, Math.floor(options.leaseMs / 3)));
    this.renewTimer.unref();
    this.reapTimer = setInterval(() => void this.reap(), Math.max(1, Math.floor(options.leaseMs / 2)));
    this.reapTimer.unref();
  }

  /** Joins the store's group of brokers and starts renewing the lease. */
  static async join(options: ClusterMemberOptions): Promise<ClusterMember> {
    const membership = await options.store.join(options.brokerId, {
      leaseMs: options.leaseMs,
      onRequest: options.onRequest,
    });
    return new ClusterMember(options, membership);
  }

  /**
   * Sends a request to the broker `brokerId` and resolves with its reply; rejects with
   * `BROKER_LOST` when it is not listening or silent for a lease period.
   */
  request(brokerId: string, request: BrokerRequest): Promise<BrokerReply> {
    return this.membership.request(brokerId, request, this.options.leaseMs);
  }

  /** Looks for lost brokers now and ends their sessions (also runs on its own timer). */
  async reap(): Promise<void> {
    if (this.reaping || this.closed) return;
    const healthySince = this.healthySince;
    if (healthySince === undefined || Date.now() - healthySince < this.options.leaseMs) return;
    this.reaping = true;
    try {
      const { store, brokerId } = this.options;
      for (const lost of await store.lostBrokers()) {
        if (lost === brokerId || this.closed) continue;
        await this.endSessionsOf(lost);
        await store.forgetBroker(lost);
      }
    } catch (error) {
      this.options.logger.warn('Could not look for lost brokers', { error: errorMessage(error) });
    } finally {
      this.reaping = false;
    }
  }

  /** Stops the timers and leaves the group: peers forget this broker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewTimer);
    clearInterval(this.reapTimer);
    await this.membership.leave();
  }

  private async renew(): Promise<void> {
    if (this.closed) return;
    try {
      await this.membership.renew();
      this.healthySince ??= Date.now();
    } catch (error) {
      if (this.healthySince !== undefined) {
        this.options.logger.warn('Could not renew the broker lease', { error: errorMessage(error) });
      }
      this.healthySince = undefined;
    }
  }

  private async endSessionsOf(lostBrokerId: string): Promise<void> {
    const tried = new Set<string>();
    for (;;) {
      const sessionIds = await this.options.store.sessionsOwnedBy(lostBrokerId, REAP_PAGE);
      const fresh = sessionIds.filter((sessionId) => !tried.has(sessionId));
      if (fresh.length === 0 || this.closed) return;
      for (const sessionId of fresh) {
        tried.add(sessionId);
        try {
          await this.options.endLostSession(sessionId, lostBrokerId);
        } catch (error) {
          this.options.logger.warn('Could not end a session of a lost broker', {
            sessionId,
            lostBrokerId,
            error: errorMessage(error),
          });
        }
      }
    }
  }
}

function errorMessage(error: unknown): string {
  return EnclaveError.isInstance(error) || error instanceof Error ? error.message : String(error);
}
