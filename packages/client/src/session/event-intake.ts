import {
  EnclaveError,
  type EncryptedEvent,
  EVENT_TYPES,
  type StreamEvent,
  toEnclaveError,
} from '@enclave-vm/types';
import type { ClientSessionEncryption } from '../encryption/client-session-encryption.js';
import type { Envelope } from './event-envelope.js';

/** Options of {@link EventIntake}. */
export interface EventIntakeOptions {
  /**
   * Events below this seq are consumed (keys set up from `session_init`) but not returned: an
   * encrypted session resumed past its start is read from seq 1 for its `session_init`.
   * @default 0
   */
  deliverFrom?: number;
  /** Set for an encrypted session: every event after `session_init` must arrive sealed. */
  encryption?: ClientSessionEncryption;
}

/** What {@link EventIntake.accept} made of a batch of events. */
export interface IntakeResult {
  /** The events, opened, in seq order. */
  events: StreamEvent[];
  /**
   * Why the intake stopped at an event it refused (`PROTOCOL_ERROR`, `ENCRYPTION_ERROR`): `events`
   * holds the good events before it, and nothing after it was taken.
   */
  failure?: EnclaveError;
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Turns the new events a resumable reader delivers (each seq once, in order) into the session's
 * events: checks they belong to the session, and opens sealed ones. A plain event in an encrypted
 * session, or a sealed one that fails authentication, is refused (`PROTOCOL_ERROR`,
 * `ENCRYPTION_ERROR`) and never returned.
 */
export class EventIntake {
  private readonly deliverFrom: number;
  private readonly encryption: ClientSessionEncryption | undefined;
  private expectedSessionId: string | undefined;

  constructor(options: EventIntakeOptions = {}) {
    this.deliverFrom = options.deliverFrom ?? 0;
    this.encryption = options.encryption;
  }

  /** Binds the intake to one session: events of another are a protocol error. */
  expectSession(sessionId: string): void {
    this.expectedSessionId = sessionId;
  }

  /** Takes a batch of new events. Never throws: a refused event ends the batch with `failure`. */
  async accept(envelopes: readonly Envelope[]): Promise<IntakeResult> {
    const events: StreamEvent[] = [];
    try {
      await this.take(envelopes, events);
      return { events };
    } catch (error) {
      return { events, failure: toEnclaveError(error, 'PROTOCOL_ERROR') };
    }
  }

  private async take(envelopes: readonly Envelope[], events: StreamEvent[]): Promise<void> {
    // Consecutive sealed events are collected and opened as one batch, so that their decryptions overlap.
    let sealed: EncryptedEvent[] = [];
    const openCollected = (): Promise<void> => {
      const batch = sealed;
      sealed = [];
      return this.openSealed(batch, events);
    };
    try {
      for (const envelope of envelopes) {
        this.expectedSessionId ??= envelope.sessionId;
        if (envelope.sessionId !== this.expectedSessionId) {
          throw new EnclaveError(
            'PROTOCOL_ERROR',
            `Received an event of session ${envelope.sessionId} on the stream of session ${this.expectedSessionId}`,
          );
        }
        const seq = envelope.seq;
        if (envelope.type === 'encrypted' && this.encryption?.started === true && seq >= this.deliverFrom) {
          sealed.push(envelope as unknown as EncryptedEvent);
          continue;
        }
        if (sealed.length > 0) await openCollected();
        // Only sealed events and an encrypted session's session_init need to wait for Web Crypto.
        const event =
          envelope.type === 'encrypted' || this.encryption !== undefined
            ? await this.open(envelope)
            : this.takePlain(envelope);
        if (event !== undefined && seq >= this.deliverFrom && KNOWN_TYPES.has(event.type)) events.push(event);
      }
      await openCollected();
    } catch (error) {
      // The events before the refused one are still taken (a refusal among them comes first).
      await openCollected();
      throw error;
    }
  }

  /**
   * Opens collected sealed events in order and takes them; throws the refusal of the first one that
   * fails, after taking those before it.
   */
  private async openSealed(sealed: readonly EncryptedEvent[], events: StreamEvent[]): Promise<void> {
    if (sealed.length === 0) return;
    const opened = await this.encryption!.openAll(sealed);
    for (const event of opened.events) {
      if (KNOWN_TYPES.has(event.type)) events.push(event);
    }
    if (opened.failure !== undefined) throw opened.failure;
  }

  /** A plain event of an unencrypted session. */
  private takePlain(envelope: Envelope): StreamEvent {
    const event = envelope as unknown as StreamEvent;
    if (event.type === 'session_init' && event.payload?.encryption !== undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `Session ${event.sessionId} is encrypted: resume it with the keyPair of the handle that started it`,
      );
    }
    return event;
  }

  /** The plain event of a line, or undefined for a sealed line that is consumed unopened. */
  private async open(envelope: Envelope): Promise<StreamEvent | undefined> {
    const encryption = this.encryption;
    if (envelope.type === 'encrypted') {
      if (encryption === undefined || !encryption.started) {
        throw new EnclaveError(
          'ENCRYPTION_ERROR',
          encryption === undefined
            ? `Session ${envelope.sessionId} is encrypted: resume it with the keyPair of the handle that started it`
            : `Event seq ${envelope.seq} arrived sealed before session_init set up the keys`,
        );
      }
      // Skipped events need no opening (the cipher only requires increasing seqs).
      if (envelope.seq < this.deliverFrom) return undefined;
      return encryption.open(envelope as unknown as EncryptedEvent);
    }
    const event = envelope as unknown as StreamEvent;
    if (event.type === 'session_init') {
      const params = event.payload?.encryption;
      if (encryption !== undefined) await encryption.start(event.sessionId, params);
      else if (params !== undefined) {
        throw new EnclaveError(
          'ENCRYPTION_ERROR',
          `Session ${event.sessionId} is encrypted: resume it with the keyPair of the handle that started it`,
        );
      }
      return event;
    }
    if (encryption !== undefined) {
      throw new EnclaveError(
        'ENCRYPTION_ERROR',
        `Event seq ${envelope.seq} (${envelope.type}) of encrypted session ${envelope.sessionId} arrived unsealed; refusing it`,
      );
    }
    return event;
  }
}
