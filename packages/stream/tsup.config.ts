import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';

const shared: Options = {
  format: ['esm', 'cjs'],
  sourcemap: true,
  target: 'es2022',
};

// The Node build is the same code with node:crypto's synchronous AES-GCM in place of the browser
// build's none (`src/crypto/sync-aes-gcm.ts` → `sync-aes-gcm.node.ts`); package.json's `node`
// export condition selects it. Types are the same for both.
const nodeAesGcm = fileURLToPath(new URL('./src/crypto/sync-aes-gcm.node.ts', import.meta.url));
// Likewise, the Node build loads the `ws` package where Node has no global WebSocket (Node 20).
const nodeWebSocketPackage = fileURLToPath(
  new URL('./src/transport/load-web-socket-package.node.ts', import.meta.url),
);

export default defineConfig([
  { ...shared, entry: { index: 'src/index.ts' }, dts: true, clean: false },
  {
    ...shared,
    entry: { 'index.node': 'src/index.ts' },
    dts: false,
    clean: false,
    platform: 'node',
    // `import.meta.url` in the CommonJS output, for `createRequire`.
    shims: true,
    esbuildPlugins: [
      {
        name: 'node-aes-gcm',
        setup(build) {
          build.onResolve({ filter: /\/sync-aes-gcm\.js$/ }, () => ({ path: nodeAesGcm }));
          build.onResolve({ filter: /\/load-web-socket-package\.js$/ }, () => ({
            path: nodeWebSocketPackage,
          }));
        },
      },
    ],
  },
]);
