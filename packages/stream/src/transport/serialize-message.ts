import { EnclaveError } from '@enclave-vm/types';

/**
 * Serializes one outgoing message to JSON text. Throws `BAD_REQUEST` for values JSON cannot carry
 * (`undefined`, functions, `BigInt`, cycles), so that every transport rejects the same messages.
 */
export function serializeMessage(message: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(message);
  } catch (error) {
    throw new EnclaveError('BAD_REQUEST', `Message cannot be serialized to JSON: ${describe(error)}`, {
      cause: error,
    });
  }
  if (text === undefined) {
    throw new EnclaveError('BAD_REQUEST', `Message cannot be serialized to JSON: got ${typeof message}`);
  }
  return text;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
