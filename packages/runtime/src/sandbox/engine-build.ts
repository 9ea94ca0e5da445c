import { createRequire } from 'node:module';
import { currentModuleUrl } from './module-location.js';

/**
 * The QuickJS build every sandbox runs: one release, synchronous variant of quickjs-emscripten.
 * Everything that depends on the build (its CommonJS Emscripten glue and FFI, its WebAssembly
 * file, the memory layout the engine template reads from it) goes through this module, so that
 * changing the build is a change here and in package.json only. The layout itself is read from the build, not assumed
 * (see `memory-layout.ts`).
 */
export const ENGINE_BUILD = {
  /** The package of the variant. */
  packageName: '@jitl/quickjs-wasmfile-release-sync',
} as const;

/** The path of the build's WebAssembly file. */
export function engineWasmPath(): string {
  return createRequire(currentModuleUrl()).resolve(`${ENGINE_BUILD.packageName}/wasm`);
}
