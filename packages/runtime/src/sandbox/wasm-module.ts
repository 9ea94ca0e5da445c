import { readFileSync } from 'node:fs';
import { engineWasmPath } from './engine-build.js';

let compiled: WebAssembly.Module | undefined;

/**
 * The QuickJS WebAssembly module of the engine build, compiled once per thread. Every sandbox
 * instantiates it with its own capped `WebAssembly.Memory`, so compiling is paid once, not per
 * session.
 */
export function getQuickJSWasmModule(): WebAssembly.Module {
  if (compiled === undefined) {
    compiled = new WebAssembly.Module(readFileSync(engineWasmPath()));
  }
  return compiled;
}
