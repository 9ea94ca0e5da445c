import type { EitherFFI, EitherModule } from 'quickjs-emscripten-core';
import { QuickJSWASMModule } from 'quickjs-emscripten-core';
import { ENGINE_BUILD } from './engine-build.js';
import { getQuickJSWasmModule } from './wasm-module.js';

/** The Emscripten factory of the QuickJS build and its FFI class, imported once per thread. */
interface VariantParts {
  factory: (options: Record<string, unknown>) => Promise<EitherModule>;
  FFI: new (module: EitherModule) => EitherFFI;
}

let parts: Promise<VariantParts> | undefined;

/** A module's value whether it arrives as itself or as the `default` of a CommonJS namespace. */
function unwrapDefault(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'default' in value) {
    return (value as { default: unknown }).default;
  }
  return value;
}

function loadVariantParts(): Promise<VariantParts> {
  // Imported from CommonJS, the variant package's default export arrives wrapped once more.
  const variant = ENGINE_BUILD.variant;
  const loaded = ((variant as unknown as { default?: typeof variant }).default ?? variant) as typeof variant;
  parts ??= Promise.all([loaded.importModuleLoader(), loaded.importFFI()]).then(([factory, FFI]) => ({
    factory: unwrapDefault(factory) as unknown as VariantParts['factory'],
    FFI: unwrapDefault(FFI) as unknown as VariantParts['FFI'],
  }));
  return parts;
}

/**
 * A new WebAssembly instance of the QuickJS module (compiled once per thread) on `memory`, with its
 * own Emscripten glue and FFI: what `newQuickJSWASMModuleFromVariant` does, with the instance made
 * synchronously from the compiled module.
 */
export async function loadQuickJSModule(memory: WebAssembly.Memory): Promise<QuickJSWASMModule> {
  const { factory, FFI } = await loadVariantParts();
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
