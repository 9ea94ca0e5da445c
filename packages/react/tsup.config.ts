import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // react is a peer dependency (tsup leaves it out already); its JSX runtime must stay out too, so
  // that the application's single copy of React is used.
  external: ['react', 'react/jsx-runtime'],
});
