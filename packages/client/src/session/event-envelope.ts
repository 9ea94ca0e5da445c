import type { ResumableBatches, ResumableOpen } from '@enclave-vm/stream';
import { EnclaveError, PROTOCOL_VERSION } from '@enclave-vm/types';

/** The fields every received event has, sealed or not. */
export interface Envelope {
  protocolVersion: string;
  sessionId: string;
  seq: number;
  type: string;
  payload: unknown;
}

const PROTOCOL_MAJOR = majorOf(PROTOCOL_VERSION);

/**
 * Checks that a received line is an event of a protocol this client speaks; throws
 * `PROTOCOL_ERROR` (or `PROTOCOL_VERSION_MISMATCH` for another major version) otherwise.
 */
export function checkEnvelope(line: unknown): Envelope {
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

/**
 * Wraps an event source so that every line it delivers is checked with {@link checkEnvelope}: the
 * lines before a refused one are delivered, then the refusal ends the reader (a broker that breaks
 * the protocol is not retried).
 */
export function checkEnvelopes(open: ResumableOpen<unknown>): ResumableOpen<Envelope> {
  return async (fromSeq, signal) => {
    const source = await open(fromSeq, signal);
    const checked: ResumableBatches<Envelope> = {
      skipsSeqs: source.skipsSeqs,
      async *[Symbol.asyncIterator]() {
        for await (const lines of source) {
          const envelopes: Envelope[] = [];
          for (const line of lines) {
            let envelope: Envelope;
            try {
              envelope = checkEnvelope(line);
            } catch (error) {
              if (envelopes.length > 0) yield envelopes;
              throw error;
            }
            envelopes.push(envelope);
          }
          yield envelopes;
        }
      },
    };
    return checked;
  };
}

function majorOf(version: string): string {
  return version.split('.', 1)[0] ?? version;
}
