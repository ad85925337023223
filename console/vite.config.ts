import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const consoleRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The marketers' console: static files built into console/dist, served by the local runtime on
 * the API port + 1 and, on AWS, from S3 behind CloudFront (infra/console/console.ts). JSX is
 * Preact's automatic runtime; no framework plugin. `npm run console:dev` runs this config's dev
 * server with a running API (`npm start`).
 */
export default defineConfig({
  root: consoleRoot,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    manifest: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { port: 5173, strictPort: true, fs: { allow: [repoRoot] } },
});
