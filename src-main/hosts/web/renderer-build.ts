/**
 * `serve` and `npm start` build the renderer themselves when its build is missing or older than its
 * sources, so a fresh clone needs only `npm ci`. Stale means: some file under src-renderer/ or
 * src-shared/ (or package.json / package-lock.json) is newer than the build's index.html, which Vite
 * writes last. The build goes to a temporary folder beside the target and is swapped in by renames,
 * so a host serving the old build never sees a half-written one.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { appRoot } from '../../util/app-paths.js'

export const REPO_ROOT = appRoot()
const SOURCES = ['src-renderer', 'src-shared', 'package.json', 'package-lock.json']

export type RendererBuildState = { state: 'fresh' } | { state: 'missing' } | { state: 'stale'; newer: string }

/** Newest source file (path, mtime ms) under the renderer's sources. */
function newestSource(root: string): { path: string; mtimeMs: number } | null {
  let best: { path: string; mtimeMs: number } | null = null
  const visit = (p: string): void => {
    let st
    try {
      st = statSync(p)
    } catch {
      return
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) if (e !== 'node_modules' && !e.startsWith('.')) visit(join(p, e))
    } else if (!best || st.mtimeMs > best.mtimeMs) best = { path: p, mtimeMs: st.mtimeMs }
  }
  for (const s of SOURCES) visit(join(root, s))
  return best
}

export function rendererBuildState(outDir: string, root = REPO_ROOT): RendererBuildState {
  const index = join(outDir, 'index.html')
  if (!existsSync(index)) return { state: 'missing' }
  const newest = newestSource(root)
  if (newest && newest.mtimeMs > statSync(index).mtimeMs) return { state: 'stale', newer: newest.path }
  return { state: 'fresh' }
}

/**
 * Builds the production renderer into `outDir` when it is missing or stale, saying so on `log`.
 * Nothing to do where the sources are absent (an installed package ships the build only).
 * Throws with the build's exit status when Vite fails.
 */
export function ensureRendererBuilt(outDir: string, log: (line: string) => void, root = REPO_ROOT): RendererBuildState {
  if (!existsSync(join(root, 'src-renderer', 'vite.config.ts'))) return { state: 'fresh' }
  const s = rendererBuildState(outDir, root)
  if (s.state === 'fresh') return s
  log(s.state === 'missing' ? `The renderer is not built (no ${join(outDir, 'index.html')}): building it now (npm run build)…` : `The renderer build is older than ${s.newer}: rebuilding it now (npm run build)…`)
  const tmp = join(dirname(outDir), `.renderer-build-${process.pid}`)
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js')
  const r = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'src-renderer', 'vite.config.ts'), '--outDir', tmp, '--emptyOutDir', '--logLevel', 'warn'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.status !== 0 || !existsSync(join(tmp, 'index.html'))) {
    rmSync(tmp, { recursive: true, force: true })
    throw new Error(`the renderer build failed (vite exit ${r.status ?? r.signal}); run npm run build to see why`)
  }
  const old = `${outDir}.old-${process.pid}`
  if (existsSync(outDir)) renameSync(outDir, old)
  renameSync(tmp, outDir)
  rmSync(old, { recursive: true, force: true })
  log(`Renderer built into ${outDir}.`)
  return s
}
