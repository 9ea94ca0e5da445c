// The import rules of the repository, checked in CI by `pnpm check:deps` (dependency-cruiser).
// ARCHITECTURE.md explains them; the package rules mirror the dependencies in each package.json.
/** Packages a package's source may import, by folder under packages/. */
const allowed = {
  types: [],
  stream: ['types'],
  runtime: ['types'],
  client: ['types', 'stream'],
  react: ['types', 'client'],
  broker: ['types', 'stream', 'runtime'],
};
const packages = Object.keys(allowed);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...packages.map((name) => ({
      name: `${name}-imports-only-its-layer`,
      comment: `@enclave-vm/${name} may import ${allowed[name].length === 0 ? 'no other package of the repository' : allowed[name].map((dep) => `@enclave-vm/${dep}`).join(', ')}`,
      severity: 'error',
      from: { path: `^packages/${name}/src/` },
      to: {
        path: `^packages/(${packages.filter((other) => other !== name && !allowed[name].includes(other)).join('|')})/`,
      },
    })),
    {
      name: 'broker-core-not-http',
      comment:
        'The broker core (sessions, tools, catalog, MCP, runtimes, Redis, options) knows nothing of HTTP: only http/ and the EnclaveBroker facade import http/',
      severity: 'error',
      from: { path: '^packages/broker/src/(sessions|tools|catalog|mcp|runtimes|redis|options)/' },
      to: { path: '^packages/broker/src/http/' },
    },
    {
      name: 'browser-packages-no-node-builtins',
      comment: '@enclave-vm/client and @enclave-vm/react run in browsers: no Node core modules',
      severity: 'error',
      from: { path: '^packages/(client|react)/src/', pathNot: '\\.test\\.tsx?$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'source-not-tests',
      comment: 'Published source never imports tests or test helpers',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/', pathNot: '(\\.test\\.tsx?$|^packages/test-utils/)' },
      to: { path: '(\\.test\\.tsx?$|^packages/[^/]+/test/|^packages/test-utils/)' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves: a package imports only what its package.json declares',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      comment:
        'Modules of a package do not import each other in a circle (type-only imports excepted: they vanish at build time)',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)(dist|node_modules)/' },
    exclude: { path: '/src/sandbox/guest/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs'],
    },
  },
};
