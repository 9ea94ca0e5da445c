import {
  EnclaveError,
  type EncryptedEvent,
  EVENT_TYPES,
  PROTOCOL_VERSION,
  type StreamEvent,
  toEnclaveError,
} from '@enclave-vm/types';
import type { SessionEncryption } from '../encryption/session-encryption.js';

/** Options of {@link EventIntake}. */
export interface EventIntakeOptions {
  /** The last seq already handled; the first event taken is the one after it. @default 0 */
  lastSeq?: number;
  /**
   * Events below this seq are consumed (keys set up from `session_init`) but not returned: an
   * encrypted session resumed past its start is read from seq 1 for its `session_init`.
   * @default 0
   */
  deliverFrom?: number;
  /** Set for an encrypted session: every event after `session_init` must arrive sealed. */
  encryption?: SessionEncryption;
}

/** What {@link EventIntake.accept} made of a batch of received lines. */
export interface IntakeResult {
  /** New events, opened, in seq order. */
  events: StreamEvent[];
  /** The batch skipped a seq; the lines from the first missing one on were not taken. */
  gap: boolean;
  /**
   * Why the intake stopped at a line it refused (`PROTOCOL_ERROR`, `ENCRYPTION_ERROR`): `events`
   * holds the good events before it, and nothing after it was taken.
   */
  failure?: EnclaveError;
}

const PROTOCOL_MAJOR = majorOf(PROTOCOL_VERSION);
const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Turns received lines into the session's events, each exactly once and in order: drops duplicates
 * by seq (a resume replays what the client already has) before anything else, detects gaps, and
 * opens sealed events. A line that breaks the protocol, a plain event in an encrypted session, or a
 * sealed one that fails authentication throws (`PROTOCOL_ERROR`, `ENCRYPTION_ERROR`) and is never
 * returned.
 */
export class EventIntake {
  private last: number;
  private readonly deliverFrom: number;
  private readonly encryption: SessionEncryption | undefined;
  private expectedSessionId: string | undefined;

  constructor(options: EventIntakeOptions = {}) {
    this.last = options.lastSeq ?? 0;
    this.deliverFrom = options.deliverFrom ?? 0;
    this.encryption = options.encryption;
  }

  /** The last seq taken. */
  get lastSeq(): number {
    return this.last;
  }

  /** The seq to resume from. */
  get nextSeq(): number {
    return this.last + 1;
  }

  /** Binds the intake to one session: events of another are a protocol error. */
  expectSession(sessionId: string): void {
    this.expectedSessionId = sessionId;
  }

  /**
   * Takes a batch of received lines. Never throws: a refused line ends the batch with `failure`.
   * @param allowGaps true on a stream the broker filters, where skipped seqs are expected.
   */
  async accept(lines: readonly unknown[], allowGaps: boolean): Promise<IntakeResult> {
    const events: StreamEvent[] = [];
    try {
      return await this.take(lines, allowGaps, events);
    } catch (error) {
      return { events, gap: false, failure: toEnclaveError(error, 'PROTOCOL_ERROR') };
    }
  }

  private async take(
    lines: readonly unknown[],
    allowGaps: boolean,
    events: StreamEvent[],
  ): Promise<IntakeResult> {
    // Consecutive sealed events are collected and opened as one batch, so that their decryptions
    // overlap; `taken` is the last seq taken so far, opened or still in that batch.
    let sealed: EncryptedEvent[] = [];
    const openCollected = (): Promise<void> => {
      const batch = sealed;
      sealed = [];
      return this.openSealed(batch, events);
    };
    let taken = this.last;
    try {
      for (const line of lines) {
        const envelope = checkEnvelope(line);
        this.expectedSessionId ??= envelope.sessionId;
        if (envelope.sessionId !== this.expectedSessionId) {
          throw new EnclaveError(
            'PROTOCOL_ERROR',
            `Received an event of session ${envelope.sessionId} on the stream of session ${this.expectedSessionId}`,
          );
        }
        const seq = envelope.seq;
        if (seq <= taken) continue;
        if (seq !== taken + 1 && !allowGaps) {
          await openCollected();
          return { events, gap: true };
        }
        taken = seq;
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
        this.last = seq;
        if (event !== undefined && seq >= this.deliverFrom && KNOWN_TYPES.has(event.type)) events.push(event);
      }
      await openCollected();
    } catch (error) {
      // The events before the refused line are still taken (a refusal among them comes first).
      await openCollected();
      throw error;
    }
    return { events, gap: false };
  }

  /**
   * Opens collected sealed events in order and takes them; throws the refusal of the first one that
   * fails, after taking those before it.
   */
  private async openSealed(sealed: readonly EncryptedEvent[], events: StreamEvent[]): Promise<void> {
    if (sealed.length === 0) return;
    const opened = await this.encryption!.openAll(sealed);
    for (const event of opened.events) {
      this.last = event.seq;
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

interface Envelope {
  protocolVersion: string;
  sessionId: string;
  seq: number;
  type: string;
  payload: unknown;
}

function checkEnvelope(line: unknown): Envelope {
  if (typeof line === 'object' && line !== null) {
    const fields = line as Partial<Record<keyof Envelope, unknown>>;
    if (
      typeof fields.protocolVersion === 'string' &&
      typeof fields.sessionId === 'string' &&
      typeof fields.type === 'string' &&
      typeof fields.seq === 'number' &&
      Number.isSafeInteger(fields.seq) &&
      fields.seq >= 1 &&
      typeof fields.payload === 'object' &&
      fields.payload !== null
    ) {
      if (fields.protocolVersion !== PROTOCOL_VERSION && majorOf(fields.protocolVersion) !== PROTOCOL_MAJOR) {
        throw new EnclaveError(
          'PROTOCOL_VERSION_MISMATCH',
          `The broker speaks protocol ${fields.protocolVersion}; this client speaks ${PROTOCOL_VERSION}`,
        );
      }
      return line as Envelope;
    }
  }
  throw new EnclaveError(
    'PROTOCOL_ERROR',
    'Received a line that is not an event { protocolVersion, sessionId, seq, ts, type, payload }',
  );
}

function majorOf(version: string): string {
  return version.split('.', 1)[0] ?? version;
}
