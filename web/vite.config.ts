import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The page reuses the ledger's pure code (proof verification, device graph, policy evaluation).
// Its only Node dependency, SHA-256 from node:crypto, is served by @noble/hashes in the browser.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  resolve: {
    alias: { 'node:crypto': fileURLToPath(new URL('./src/node-crypto.ts', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1000,
  },
  logLevel: 'warn',
});
