// The compiled CLI (issue 15): src-main bundled by esbuild into dist/cli/ (main.js with lazily loaded
// command chunks, worker.js for the inference thread, worker-entry.mjs beside it), so that
// `scn-studio` starts without compiling TypeScript at every run (tsx: ~0.5 s on 2 cores, paid twice
// by `segment`, whose inference worker is a second module graph). npm packages stay external.
//
// cliBuildState() says whether the build is missing or older than any source (src-main, src-shared,
// package.json, package-lock.json, this file); buildCli() writes it into a temporary folder and
// swaps it in by renames, so a CLI starting meanwhile never sees half a build.
import { existsSync, readdirSync, renameSync, rmSync, statSync, copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CLI_DIR = join(ROOT, 'dist', 'cli')
const SOURCES = ['src-main', 'src-shared', 'package.json', 'package-lock.json', 'scripts/cli-build.mjs']

function newestMtime(p) {
  let st
  try {
    st = statSync(p)
  } catch {
    return 0
  }
  if (!st.isDirectory()) return st.mtimeMs
  let best = 0
  for (const e of readdirSync(p)) if (e !== 'node_modules' && !e.startsWith('.')) best = Math.max(best, newestMtime(join(p, e)))
  return best
}

/** 'fresh', 'missing' or 'stale' (a source is newer than dist/cli/main.js, written last). */
export function cliBuildState() {
  const main = join(CLI_DIR, 'main.js')
  if (!existsSync(main)) return 'missing'
  const built = statSync(main).mtimeMs
  return SOURCES.some((s) => newestMtime(join(ROOT, s)) > built) ? 'stale' : 'fresh'
}

/** One build at a time: CLIs started together wait for the first one's build instead of racing it. */
async function withBuildLock(fn) {
  const lock = `${CLI_DIR}.lock`
  mkdirSync(join(ROOT, 'dist'), { recursive: true })
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(lock)
      break
    } catch (e) {
      if (e.code !== 'EEXIST') throw e
      // a lock left by a killed build is older than any real build takes
      if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true })
      else if (waited > 120_000) throw new Error(`${lock} is held by another build`)
      await new Promise((r) => setTimeout(r, 100))
      if (cliBuildState() === 'fresh') return
    }
  }
  try {
    if (cliBuildState() !== 'fresh') await fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

export async function buildCli() {
  return withBuildLock(buildNow)
}

async function buildNow() {
  const { build } = await import('esbuild')
  const tmp = `${CLI_DIR}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  const common = { absWorkingDir: ROOT, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'error', sourcemap: false }
  await Promise.all([
    // main.js last-written is the freshness mark: the worker first, then the CLI with its chunks
    build({ ...common, entryPoints: { worker: 'src-main/inference/worker.ts' }, outdir: tmp }).then(() =>
      build({ ...common, entryPoints: { main: 'src-main/cli/main.ts' }, outdir: tmp, splitting: true, chunkNames: 'chunks/[name]-[hash]' }),
    ),
  ])
  mkdirSync(tmp, { recursive: true })
  copyFileSync(join(ROOT, 'src-main', 'inference', 'worker-entry.mjs'), join(tmp, 'worker-entry.mjs'))
  // chunks live one folder down: the worker URL (./worker-entry.mjs) is resolved from the chunk
  // that holds runScn, so the entry goes there too
  copyFileSync(join(ROOT, 'src-main', 'inference', 'worker-entry.mjs'), join(tmp, 'chunks', 'worker-entry.mjs'))
  copyFileSync(join(tmp, 'worker.js'), join(tmp, 'chunks', 'worker.js'))
  const old = `${CLI_DIR}.old-${process.pid}`
  if (existsSync(CLI_DIR)) renameSync(CLI_DIR, old)
  try {
    renameSync(tmp, CLI_DIR)
  } catch (e) {
    // another CLI swapped its build in first: use that one
    rmSync(tmp, { recursive: true, force: true })
    if (!existsSync(CLI_DIR)) throw e
  }
  rmSync(old, { recursive: true, force: true })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildCli()
  console.log(`built ${CLI_DIR}`)
}
