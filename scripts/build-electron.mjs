#!/usr/bin/env node
// Bundles the Electron host: main (ESM), the inference worker (ESM) and the preload (CommonJS: a
// sandboxed preload cannot load ES modules or relative files). npm packages stay external: they
// ship in node_modules inside the app (onnxruntime's native files unpacked, see electron-builder.yml).
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', sourcemap: false, logLevel: 'warning' }

await Promise.all([
  build({ ...common, entryPoints: ['src-main/hosts/electron/main.ts'], outfile: 'dist/electron/main.mjs', format: 'esm', packages: 'external' }),
  // runScn starts new URL('./worker-entry.mjs', import.meta.url), which loads ./worker.js when built.
  build({ ...common, entryPoints: ['src-main/inference/worker.ts'], outfile: 'dist/electron/worker.js', format: 'esm', packages: 'external' }),
  // the volume reader's thread: read-worker-entry.mjs loads ./read-worker.js when built
  build({ ...common, entryPoints: ['src-main/volumes/read-worker.ts'], outfile: 'dist/electron/read-worker.js', format: 'esm', packages: 'external' }),
  build({ ...common, entryPoints: ['src-main/hosts/electron/preload.ts'], outfile: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'] }),
])
mkdirSync('dist/electron', { recursive: true })
copyFileSync(new URL('../src-main/inference/worker-entry.mjs', import.meta.url), new URL('../dist/electron/worker-entry.mjs', import.meta.url))
copyFileSync(new URL('../src-main/volumes/read-worker-entry.mjs', import.meta.url), new URL('../dist/electron/read-worker-entry.mjs', import.meta.url))
// `electron dist/electron` (development, Playwright) reads the app's name, version and entry here;
// packaged apps use the root package.json with extraMetadata.main (electron-builder.yml).
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
writeFileSync(
  new URL('../dist/electron/package.json', import.meta.url),
  JSON.stringify({ name: pkg.name, productName: 'SCN Studio', version: pkg.version, description: pkg.description, type: 'module', main: 'main.mjs' }, null, 2) + '\n',
)
console.log('built dist/electron/{main.mjs, preload.cjs, worker-entry.mjs, worker.js, read-worker-entry.mjs, read-worker.js, package.json}')
