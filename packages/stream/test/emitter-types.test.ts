// Type tests of the stream package's emitter: `decoder.on` types each listener by its event and
// returns the function that removes it (the `Emitter` shape every package shares).
import type { Emitter, EnclaveError, Unsubscribe } from '@enclave-vm/types';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { StreamDecoder } from '../src/ndjson/stream-decoder.js';
import type { TypedEventListeners } from '../src/ndjson/typed-event-emitter.js';

interface Greeting {
  hello: string;
}

describe('StreamDecoder.on', () => {
  it('types each listener by its event and returns the function that removes it', () => {
    const decoder = new StreamDecoder<Greeting>();
    const messages: Greeting[] = [];
    const errors: string[] = [];
    const stopMessages = decoder.on('message', (message) => {
      expectTypeOf(message).toEqualTypeOf<Greeting>();
      messages.push(message);
    });
    expectTypeOf(stopMessages).toEqualTypeOf<Unsubscribe>();
    decoder.on('error', (error) => {
      expectTypeOf(error).toEqualTypeOf<EnclaveError>();
      errors.push(error.code);
    });
    decoder.on('end', (...args) => {
      expectTypeOf(args).toEqualTypeOf<[]>();
    });
    // @ts-expect-error: the decoder has no such event
    decoder.on('close', () => undefined);
    // @ts-expect-error: a message listener gets the message, not a number
    const stopMistyped = decoder.on('message', (message: number) => message);
    stopMistyped();

    decoder.write('{"hello":"world"}\nnot json\n');
    stopMessages();
    stopMessages();
    decoder.write('{"hello":"again"}\n');
    expect(messages).toEqual([{ hello: 'world' }]);
    expect(errors).toEqual(['DECODE_ERROR']);
    expect(decoder.listenerCount('message')).toBe(0);
  });

  it('is an Emitter of its events', () => {
    expectTypeOf<StreamDecoder<Greeting>>().toExtend<
      Emitter<TypedEventListeners<{ message: [message: Greeting]; error: [error: EnclaveError]; end: [] }>>
    >();
    const decoder = new StreamDecoder<Greeting>();
    const emitter: Emitter<{ message: (message: Greeting) => void }> = decoder;
    const seen: Greeting[] = [];
    const stop = emitter.on('message', (message) => seen.push(message));
    decoder.write('{"hello":"first"}\n');
    stop();
    decoder.write('{"hello":"second"}\n');
    expect(seen).toEqual([{ hello: 'first' }]);
  });
});
