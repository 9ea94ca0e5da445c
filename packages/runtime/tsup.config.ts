import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the library; pool-worker: the worker-thread entry the pool starts; cli: `enclave-runtime`.
  entry: {
    index: 'src/index.ts',
    'pool-worker': 'src/pool/pool-worker.ts',
    cli: 'src/worker-end/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // The guest scripts are read at run time beside the bundle (see src/sandbox/guest-source.ts).
  onSuccess: async () => {
    cpSync('src/sandbox/guest', 'dist/guest', { recursive: true });
  },
});
