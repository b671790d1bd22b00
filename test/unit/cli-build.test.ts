/**
 * The compiled CLI (issue 15): bin/scn-studio.mjs runs dist/cli/ when it is fresh and rebuilds it when
 * a source is newer; the compiled CLI finds the app's folders from dist/ (appRoot) and answers like
 * the TypeScript sources run through tsx.
 */
import { spawnSync } from 'node:child_process'
import { statSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
// @ts-expect-error plain .mjs build script without types
import { buildCli, cliBuildState, CLI_DIR, ROOT } from '../../scripts/cli-build.mjs'
import { appModelsDir, appRoot } from '../../src-main/util/app-paths.js'

const run = (env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(ROOT, 'bin', 'scn-studio.mjs'), 'models', '--json'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 })

describe('compiled CLI', () => {
  it('is rebuilt when a source is newer, and answers like the sources through tsx', async () => {
    await buildCli()
    expect(cliBuildState()).toBe('fresh')
    const src = join(ROOT, 'src-shared', 'labels.ts')
    const st = statSync(src)
    const built = statSync(join(CLI_DIR, 'main.js')).mtimeMs
    try {
      utimesSync(src, st.atime, new Date(built + 5_000))
      expect(cliBuildState()).toBe('stale')
      const compiled = run()
      expect(compiled.status, compiled.stderr).toBe(0)
      // the run rebuilt it first
      expect(statSync(join(CLI_DIR, 'main.js')).mtimeMs).toBeGreaterThan(built)
      const viaTsx = run({ SCN_STUDIO_TSX: '1' })
      expect(viaTsx.status, viaTsx.stderr).toBe(0)
      const a = JSON.parse(compiled.stdout)
      // the app's models folder is the repository's, found from dist/cli as from src-main
      expect(a.appModelsDir).toBe(join(ROOT, 'models'))
      expect(a).toEqual(JSON.parse(viaTsx.stdout))
    } finally {
      utimesSync(src, st.atime, st.mtime)
    }
  }, 300_000)

  it('appRoot walks up to the repository from src-main, dist/cli and dist/electron', () => {
    expect(appRoot()).toBe(ROOT.replace(/\/$/, ''))
    for (const from of ['dist/cli', 'dist/cli/chunks', 'dist/electron', 'src-main/hosts/web']) expect(appRoot(join(ROOT, from))).toBe(ROOT.replace(/\/$/, ''))
    expect(appModelsDir()).toBe(join(ROOT, 'models'))
  })
})
