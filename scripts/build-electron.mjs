#!/usr/bin/env node
// Bundles the Electron host: main (ESM), the preload (CommonJS: a sandboxed preload cannot load ES
// modules or relative files) and the two worker threads (ESM). Main's npm packages stay external: they
// ship in node_modules inside app.asar, which Electron's main thread reads. The workers are started
// from app.asar.unpacked (src-main/util/worker-url.ts: a worker thread cannot be relied on to read
// the archive), so they carry their packages with them: bundled, except onnxruntime-node (native; it
// and onnxruntime-common are unpacked whole), plus the itk-wasm pipelines the reader's code loads
// from a "pipelines" folder beside itself (electron-builder.yml asarUnpack).
import { build } from 'esbuild'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'dist', 'electron')
const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', sourcemap: false, logLevel: 'warning' }
// bundled CommonJS packages (dcmjs, mime-types) call require(): give the ES module bundle one
const requireShim = { js: "import { createRequire as __scnCreateRequire } from 'node:module'; const require = __scnCreateRequire(import.meta.url);" }
const worker = { ...common, format: 'esm', external: ['onnxruntime-node'], banner: requireShim, metafile: true }

// chunks of an earlier build would be unpacked into the app with the new ones
rmSync(join(out, 'chunks'), { recursive: true, force: true })
const [, inference, reader] = await Promise.all([
  build({ ...common, entryPoints: ['src-main/hosts/electron/main.ts'], outfile: 'dist/electron/main.mjs', format: 'esm', packages: 'external' }),
  // runScn starts worker-entry.mjs beside it, which loads ./worker.js when built.
  build({ ...worker, entryPoints: ['src-main/inference/worker.ts'], outfile: 'dist/electron/worker.js' }),
  // the volume reader's thread: read-worker-entry.mjs loads ./read-worker.js when built. Split, so
  // that itk-wasm (imported on first use) keeps its own ES module graph and loads only when needed.
  build({ ...worker, entryPoints: { 'read-worker': 'src-main/volumes/read-worker.ts' }, outdir: 'dist/electron', splitting: true, chunkNames: 'chunks/[name]-[hash]' }),
  build({ ...common, entryPoints: ['src-main/hosts/electron/preload.ts'], outfile: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'] }),
])
mkdirSync(out, { recursive: true })

// itk-wasm finds a pipeline at <folder of the calling module>/pipelines/<name>.{js,wasm.zst}: copy
// each pipeline that a bundled file names next to that file, from the itk-wasm package bundled into
// it. Only chunks/ is unpacked (electron-builder.yml), so itk-wasm code must stay in a chunk.
let pipelines = 0
for (const [file, output] of Object.entries({ ...inference.metafile.outputs, ...reader.metafile.outputs })) {
  const packages = new Set(Object.keys(output.inputs).flatMap((i) => i.match(/node_modules\/(@itk-wasm\/[^/]+)\//)?.[1] ?? []))
  const names = [...readFileSync(join(root, file), 'utf8').matchAll(/["']pipelines["'],\s*["']([a-z0-9-]+)["']/g)].map((m) => m[1])
  if (names.length === 0) continue
  if (!file.startsWith('dist/electron/chunks/')) throw new Error(`${file} loads itk-wasm pipelines but is not in dist/electron/chunks/, which the app unpacks: keep itk-wasm behind a dynamic import`)
  for (const name of names) {
    const from = [...packages].map((p) => join(root, 'node_modules', p, 'dist', 'pipelines')).find((d) => existsSync(join(d, `${name}.js`)))
    if (!from) throw new Error(`${file} loads the itk-wasm pipeline ${name}, which none of its packages (${[...packages].join(', ')}) ships`)
    mkdirSync(join(root, dirname(file), 'pipelines'), { recursive: true })
    for (const ext of ['.js', '.wasm.zst']) copyFileSync(join(from, name + ext), join(root, dirname(file), 'pipelines', name + ext))
    pipelines++
  }
}
copyFileSync(new URL('../src-main/inference/worker-entry.mjs', import.meta.url), new URL('../dist/electron/worker-entry.mjs', import.meta.url))
copyFileSync(new URL('../src-main/volumes/read-worker-entry.mjs', import.meta.url), new URL('../dist/electron/read-worker-entry.mjs', import.meta.url))
// `electron dist/electron` (development, Playwright) reads the app's name, version and entry here;
// packaged apps use the root package.json with extraMetadata.main (electron-builder.yml).
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
writeFileSync(
  new URL('../dist/electron/package.json', import.meta.url),
  JSON.stringify({ name: pkg.name, productName: 'SCN Studio', version: pkg.version, description: pkg.description, type: 'module', main: 'main.mjs' }, null, 2) + '\n',
)
console.log(`built dist/electron/{main.mjs, preload.cjs, worker-entry.mjs, worker.js, read-worker-entry.mjs, read-worker.js, chunks/, package.json} with ${pipelines} itk-wasm pipelines`)
