// Type tests of the runtime connection's listeners: `runtime.on(event, listener)` types each
// listener by its event and returns the function that removes it. `pnpm typecheck` runs them.
import type { Emitter, EnclaveError, LoadMessage, Unsubscribe } from '@enclave-vm/types';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  RuntimeConnection,
  RuntimeConnectionCloseInfo,
  RuntimeConnectionEventMap,
} from '../src/broker-end/runtime-connection.js';

describe('RuntimeConnection.on', () => {
  it('is an Emitter of its events, each listener typed by its event', () => {
    expectTypeOf<RuntimeConnection>().toExtend<Emitter<RuntimeConnectionEventMap>>();
    expectTypeOf<RuntimeConnection['on']>().returns.toEqualTypeOf<Unsubscribe>();
    expectTypeOf<Parameters<RuntimeConnectionEventMap['load']>>().toEqualTypeOf<[load: LoadMessage]>();
    expectTypeOf<Parameters<RuntimeConnectionEventMap['error']>>().toEqualTypeOf<[error: EnclaveError]>();
    expectTypeOf<Parameters<RuntimeConnectionEventMap['close']>>().toEqualTypeOf<
      [info: RuntimeConnectionCloseInfo]
    >();
    expectTypeOf<Parameters<RuntimeConnection['on']>[0]>().toEqualTypeOf<'load' | 'error' | 'close'>();
  });
});
