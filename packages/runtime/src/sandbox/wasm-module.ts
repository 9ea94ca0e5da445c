import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { currentModuleUrl } from './module-location.js';

let compiled: WebAssembly.Module | undefined;

/**
 * The QuickJS WebAssembly module (release, sync build), compiled once per thread. Every sandbox
 * instantiates it with its own capped `WebAssembly.Memory`, so compiling is paid once, not per
 * session.
 */
export function getQuickJSWasmModule(): WebAssembly.Module {
  if (compiled === undefined) {
    const require = createRequire(currentModuleUrl());
    const path = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
    compiled = new WebAssembly.Module(readFileSync(path));
  }
  return compiled;
}
