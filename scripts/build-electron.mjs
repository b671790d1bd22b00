#!/usr/bin/env node
// Bundles the Electron host: main (ESM), the engine worker (ESM) and the preload (CommonJS: a
// sandboxed preload cannot load ES modules or relative files). npm packages stay external: they
// ship in node_modules inside the app (onnxruntime's native files unpacked, see electron-builder.yml).
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', sourcemap: false, logLevel: 'warning' }

await Promise.all([
  build({ ...common, entryPoints: ['src-main/hosts/electron/main.ts'], outfile: 'dist/electron/main.mjs', format: 'esm', packages: 'external' }),
  build({ ...common, entryPoints: ['src-main/services/engine-worker.ts'], outfile: 'dist/electron/engine-worker.mjs', format: 'esm', packages: 'external' }),
  build({ ...common, entryPoints: ['src-main/hosts/electron/preload.ts'], outfile: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'] }),
])
console.log('built dist/electron/{main.mjs, engine-worker.mjs, preload.cjs}')
