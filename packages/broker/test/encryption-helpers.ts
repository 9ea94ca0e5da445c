// Helpers shared by the encryption tests (not a test file itself): the client side of an encrypted
// session, done by hand with @enclave-vm/stream, as any client would.
import {
  createSessionCipher,
  exportPublicKey,
  generateKeyPair,
  type SessionCipher,
} from '@enclave-vm/stream';
import { type StreamEvent, type WireEvent, WireEventSchema } from '@enclave-vm/types';
import { postJson } from './http-test-helpers.js';

/** An encrypted session started over HTTP, with the raw text of its event stream. */
export interface EncryptedSession {
  sessionId: string;
  /** The client's key pair. */
  keyPair: CryptoKeyPair;
  /** The client's cipher, keyed from `session_init`. */
  cipher: SessionCipher;
  /** Every line of the `POST /execute` answer, parsed (sealed events stay sealed). */
  wire: WireEvent[];
  /** The raw text of the answer, as it crossed the network. */
  text: string;
  /** `wire` opened: the plain events. */
  events: StreamEvent[];
}

/** Parses an NDJSON body into wire events (plain or sealed), checking each against the schema. */
export function parseWire(text: string): WireEvent[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => WireEventSchema.parse(JSON.parse(line)));
}

/** The client cipher of a session from its `session_init`. */
export async function clientCipherFor(
  keyPair: CryptoKeyPair,
  init: WireEvent | undefined,
): Promise<SessionCipher> {
  if (init?.type !== 'session_init' || init.payload.encryption === undefined) {
    throw new Error('session_init announces no encryption');
  }
  return createSessionCipher({
    role: 'client',
    keyPair,
    remotePublicKey: init.payload.encryption.publicKey,
    sessionId: init.sessionId,
    salt: init.payload.encryption.salt,
  });
}

/** Opens every sealed event (a plain one passes through). */
export async function openAll(cipher: SessionCipher, wire: readonly WireEvent[]): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for (const event of wire) events.push(event.type === 'encrypted' ? await cipher.openEvent(event) : event);
  return events;
}

/** Starts an encrypted session over HTTP and reads its whole answer. */
export async function runEncrypted(url: string, body: Record<string, unknown>): Promise<EncryptedSession> {
  const keyPair = await generateKeyPair();
  const response = await postJson(`${url}/execute`, {
    ...body,
    encryption: { publicKey: await exportPublicKey(keyPair.publicKey) },
  });
  if (response.status !== 200)
    throw new Error(`POST /execute answered ${response.status}: ${await response.text()}`);
  const sessionId = response.headers.get('x-session-id') ?? '';
  const text = await response.text();
  const wire = parseWire(text);
  const cipher = await clientCipherFor(keyPair, wire[0]);
  return { sessionId, keyPair, cipher, wire, text, events: await openAll(cipher, wire) };
}
