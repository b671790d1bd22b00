// The compiled CLI (issue 15): src-main bundled by esbuild into dist/cli/ (main.js with lazily loaded
// command chunks, worker.js for the inference thread, worker-entry.mjs beside it), so that
// `scn-studio` starts without compiling TypeScript at every run (tsx: ~0.5 s on 2 cores, paid twice
// by `segment`, whose inference worker is a second module graph). npm packages stay external.
//
// Each build is its own folder, dist/cli/b-<time>-<pid>/, and dist/cli/current names the one in use
// (written last by a rename: it is also the freshness mark). A rebuild never touches a build that a
// running CLI is using: a batch or worker that has run for hours still finds its lazily loaded
// chunks and its inference worker where they were. Builds other than the current one are swept
// after a day. cliBuildState() says whether the build is missing or older than any source (src-main,
// src-shared, package.json, package-lock.json, this file). SCN_STUDIO_CLI_DIR puts the builds
// elsewhere (tests that rebuild without disturbing the CLIs other tests run).
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CLI_DIR = process.env.SCN_STUDIO_CLI_DIR ? resolve(process.env.SCN_STUDIO_CLI_DIR) : join(ROOT, 'dist', 'cli')
const SOURCES = ['src-main', 'src-shared', 'package.json', 'package-lock.json', 'scripts/cli-build.mjs']
const CURRENT = 'current'
/** builds other than the current one older than this are removed by the next build */
const KEEP_OLD_BUILDS_MS = 24 * 3600 * 1000

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

/** The current build's main.js, or null when there is none. */
export function currentCliMain(dir = CLI_DIR) {
  let name
  try {
    name = readFileSync(join(dir, CURRENT), 'utf8').trim()
  } catch {
    return null
  }
  const main = join(dir, name, 'main.js')
  return /^b-[a-z0-9-]+$/.test(name) && existsSync(main) ? main : null
}

/** 'fresh', 'missing' or 'stale' (a source is newer than dist/cli/current, written last). */
export function cliBuildState(dir = CLI_DIR) {
  if (!currentCliMain(dir)) return 'missing'
  const built = statSync(join(dir, CURRENT)).mtimeMs
  return SOURCES.some((s) => newestMtime(join(ROOT, s)) > built) ? 'stale' : 'fresh'
}

/** One build at a time: CLIs started together wait for the first one's build instead of racing it. */
async function withBuildLock(dir, fn) {
  const lock = `${dir}.lock`
  mkdirSync(dirname(dir), { recursive: true })
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
      if (cliBuildState(dir) === 'fresh') return
    }
  }
  try {
    if (cliBuildState(dir) !== 'fresh') await fn(dir)
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

export async function buildCli(dir = CLI_DIR) {
  return withBuildLock(dir, buildNow)
}

async function buildNow(dir) {
  const { build } = await import('esbuild')
  mkdirSync(dir, { recursive: true })
  const name = `b-${Date.now().toString(36)}-${process.pid}`
  const tmp = join(dir, `.tmp-${name}`)
  const common = { absWorkingDir: ROOT, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'error', sourcemap: false }
  await build({ ...common, entryPoints: { worker: 'src-main/inference/worker.ts', 'read-worker': 'src-main/volumes/read-worker.ts' }, outdir: tmp })
  await build({ ...common, entryPoints: { main: 'src-main/cli/main.ts' }, outdir: tmp, splitting: true, chunkNames: 'chunks/[name]-[hash]' })
  copyFileSync(join(ROOT, 'src-main', 'inference', 'worker-entry.mjs'), join(tmp, 'worker-entry.mjs'))
  // chunks live one folder down: the worker URL (./worker-entry.mjs) is resolved from the chunk
  // that holds runScn, so the entry goes there too
  copyFileSync(join(ROOT, 'src-main', 'inference', 'worker-entry.mjs'), join(tmp, 'chunks', 'worker-entry.mjs'))
  copyFileSync(join(tmp, 'worker.js'), join(tmp, 'chunks', 'worker.js'))
  // the volume reader's thread (src-main/volumes/read-thread.ts), likewise at both levels
  for (const at of [tmp, join(tmp, 'chunks')]) {
    copyFileSync(join(ROOT, 'src-main', 'volumes', 'read-worker-entry.mjs'), join(at, 'read-worker-entry.mjs'))
    if (at !== tmp) copyFileSync(join(tmp, 'read-worker.js'), join(at, 'read-worker.js'))
  }
  renameSync(tmp, join(dir, name))
  // the switch: one rename, so a CLI starting now reads either the old name or the new one
  const mark = join(dir, `.current-${process.pid}`)
  writeFileSync(mark, name + '\n')
  renameSync(mark, join(dir, CURRENT))
  sweepOldBuilds(dir, name)
}

/** Removes builds (and leftovers of killed builds) not in use that are older than a day. */
function sweepOldBuilds(dir, keep) {
  for (const e of readdirSync(dir)) {
    if (e === keep || e === CURRENT || !/^(b-|\.tmp-|\.current-)/.test(e)) continue
    const p = join(dir, e)
    try {
      if (Date.now() - statSync(p).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(p, { recursive: true, force: true })
    } catch {
      /* removed by another build meanwhile */
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildCli()
  console.log(`built ${currentCliMain()}`)
}
