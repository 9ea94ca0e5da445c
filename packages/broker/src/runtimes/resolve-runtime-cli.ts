import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EnclaveError } from '@enclave-vm/types';

/**
 * The path of the `enclave-runtime` command (`dist/cli.js` of the installed `@enclave-vm/runtime`),
 * which the runtime process pool starts with `node`. Throws `CONFIGURATION_ERROR` when the package
 * cannot be found.
 */
export function resolveRuntimeCli(): string {
  const manifest = '@enclave-vm/runtime/package.json';
  try {
    // The ES module build has `import.meta.url`; the CommonJS build has an empty `import.meta` and a
    // module-scoped `require`. Checking for `require` first would be fooled by `node -e`, which
    // defines a global `require` that resolves from the working directory.
    const moduleUrl: unknown = import.meta.url;
    const manifestPath =
      typeof moduleUrl === 'string' ? createRequire(moduleUrl).resolve(manifest) : require.resolve(manifest);
    return join(dirname(manifestPath), 'dist', 'cli.js');
  } catch (error) {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      'Cannot find @enclave-vm/runtime, whose enclave-runtime command runtimePool starts; install it beside @enclave-vm/broker',
      { cause: error },
    );
  }
}
