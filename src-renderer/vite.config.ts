import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const here = fileURLToPath(new URL('.', import.meta.url))

// The renderer is built once and served by either host (web: HTTP on loopback; electron: file://),
// so asset paths are relative (base './').
//
// `npm run build` is the product. `npm run build:test` (mode 'test') is the same renderer plus the
// test hook window.__scn (it can apply edits, so it never ships), into dist/renderer-test; the
// browser e2e tests and the editing benchmark serve that one.
export const TEST_HOOK_MODE = 'test'
export default defineConfig(({ mode }) => ({
  root: here,
  base: './',
  plugins: [vue()],
  define: { 'import.meta.env.SCN_TEST_HOOK': JSON.stringify(mode === TEST_HOOK_MODE) },
  build: {
    outDir: fileURLToPath(new URL(mode === TEST_HOOK_MODE ? '../dist/renderer-test' : '../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 8000,
    sourcemap: false,
  },
  // Cornerstone's compute workers and our stats worker are ES modules (docs/runtime-notes.md).
  worker: { format: 'es' },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  // Dev server only (tests and hosts use the production build): Cornerstone's compute worker dies
  // silently unless these CommonJS dependencies are pre-bundled (docs/runtime-notes.md).
  optimizeDeps: { include: ['@cornerstonejs/tools > lodash.get', '@kitware/vtk.js > globalthis'] },
}))
