import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Where `pnpm dev` forwards the broker's API: a running playground server (`pnpm start`). */
const apiTarget = process.env.PLAYGROUND_API_URL ?? 'http://localhost:3000';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    // The page talks to its own origin; in development that is Vite's server, which passes the
    // broker's routes on, WebSocket included.
    proxy: {
      '/execute': apiTarget,
      '/sessions': { target: apiTarget, ws: true },
      '/health': apiTarget,
      '/code': apiTarget,
    },
  },
});
