import { createRequire } from 'node:module';
import type { EitherFFI, EitherModule } from 'quickjs-emscripten-core';
import { QuickJSWASMModule } from 'quickjs-emscripten-core';
import { ENGINE_BUILD } from './engine-build.js';
import { currentModuleUrl } from './module-location.js';
import { getQuickJSWasmModule } from './wasm-module.js';

/** The Emscripten factory of the QuickJS build and its FFI class, loaded once per thread. */
interface VariantParts {
  factory: (options: Record<string, unknown>) => Promise<EitherModule>;
  FFI: new (module: EitherModule) => EitherFFI;
}

let parts: VariantParts | undefined;

// The CommonJS glue is loaded with `require`, whatever this bundle's format: the ES module glue
// runs `await import('node:module')` on every instantiation, which costs a round trip to the
// loader's hooks when a TypeScript loader is registered (tests, benchmarks), once per session.
function loadVariantParts(): VariantParts {
  if (parts === undefined) {
    const require = createRequire(currentModuleUrl());
    const factory = require(`${ENGINE_BUILD.packageName}/emscripten-module`) as VariantParts['factory'];
    const { QuickJSFFI } = require(`${ENGINE_BUILD.packageName}/ffi`) as {
      QuickJSFFI: VariantParts['FFI'];
    };
    parts = { factory, FFI: QuickJSFFI };
  }
  return parts;
}

/**
 * A new WebAssembly instance of the QuickJS module (compiled once per thread) on `memory`, with its
 * own Emscripten glue and FFI: what `newQuickJSWASMModuleFromVariant` does, with the instance made
 * synchronously from the compiled module.
 */
export async function loadQuickJSModule(memory: WebAssembly.Memory): Promise<QuickJSWASMModule> {
  const { factory, FFI } = loadVariantParts();
  const emscripten = await factory({
    wasmMemory: memory,
    instantiateWasm(
      imports: WebAssembly.Imports,
      onSuccess: (instance: WebAssembly.Instance) => void,
    ): WebAssembly.Exports {
      const instance = new WebAssembly.Instance(getQuickJSWasmModule(), imports);
      onSuccess(instance);
      return instance.exports;
    },
  });
  (emscripten as { type?: string }).type = 'sync';
  return new QuickJSWASMModule(emscripten, new FFI(emscripten));
}
