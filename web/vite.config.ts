import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The page runs the ledger's own verifier (src/verify) and policy code unchanged: they use no
// Node APIs, so nothing is aliased or shimmed.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1000,
  },
  logLevel: 'warn',
});
