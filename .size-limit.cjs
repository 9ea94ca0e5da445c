// Size budgets of the browser packages, checked in CI by `pnpm check:size` (size-limit): the
// brotli-compressed size of what a bundler ships for the import shown, dependencies included
// (@enclave-vm/stream, @enclave-vm/types and zod), React itself excluded. Most of it is
// @enclave-vm/types: its zod schemas of every event and body weigh 81 kB alone, zod included.
module.exports = [
  {
    name: '@enclave-vm/client: EnclaveClient',
    path: 'packages/client/dist/index.js',
    import: '{ EnclaveClient }',
    limit: '102 kB',
  },
  {
    name: '@enclave-vm/client: everything',
    path: 'packages/client/dist/index.js',
    limit: '102 kB',
  },
  {
    name: '@enclave-vm/react: EnclaveProvider + useEnclaveSession',
    path: 'packages/react/dist/index.js',
    import: '{ EnclaveProvider, useEnclaveSession }',
    ignore: ['react', 'react-dom'],
    limit: '103 kB',
  },
];
