/**
 * The compiled CLI (issue 15): bin/scn-studio.mjs runs dist/cli/ when it is fresh and rebuilds it when
 * a source is newer; the compiled CLI finds the app's folders from dist/ (appRoot) and answers like
 * the TypeScript sources run through tsx.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
// @ts-expect-error plain .mjs build script without types
import { buildCli, cliBuildState, currentCliMain, ROOT } from '../../scripts/cli-build.mjs'
import { appModelsDir, appRoot } from '../../src-main/util/app-paths.js'

// a build folder of this test's own: rebuilding dist/cli would pull the ground from under the CLIs
// other test files run meanwhile (the reason builds are versioned at all)
const DIR = join(ROOT, 'dist', `cli-test-${process.pid}`)
const run = (env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(ROOT, 'bin', 'scn-studio.mjs'), 'models', '--json'], { encoding: 'utf8', env: { ...process.env, SCN_STUDIO_CLI_DIR: DIR, ...env }, timeout: 120_000 })

afterAll(() => rmSync(DIR, { recursive: true, force: true }))

describe('compiled CLI', () => {
  it('is rebuilt when a source is newer, keeps the build a running CLI uses, and answers like the sources through tsx', async () => {
    expect(cliBuildState(DIR)).toBe('missing')
    await buildCli(DIR)
    expect(cliBuildState(DIR)).toBe('fresh')
    const first: string = currentCliMain(DIR)
    expect(first.startsWith(DIR)).toBe(true)
    // sources newer than the build: its mark, dist/cli/current, set an hour back
    const mark = join(DIR, 'current')
    const old = new Date(Date.now() - 3600_000)
    utimesSync(mark, old, old)
    expect(cliBuildState(DIR)).toBe('stale')
    const compiled = run()
    expect(compiled.status, compiled.stderr).toBe(0)
    // the run rebuilt it first, into a new folder; the old build is untouched (a CLI started from it
    // still finds its lazily loaded chunks)
    const second: string = currentCliMain(DIR)
    expect(second).not.toBe(first)
    expect(statSync(mark).mtimeMs).toBeGreaterThan(old.getTime())
    expect(existsSync(first)).toBe(true)
    expect(readFileSync(mark, 'utf8').trim()).toBe(dirname(second).split('/').pop())
    const viaTsx = run({ SCN_STUDIO_TSX: '1' })
    expect(viaTsx.status, viaTsx.stderr).toBe(0)
    const a = JSON.parse(compiled.stdout)
    // the app's models folder is the repository's, found from dist/cli as from src-main
    expect(a.appModelsDir).toBe(join(ROOT, 'models'))
    expect(a).toEqual(JSON.parse(viaTsx.stdout))
  }, 300_000)

  it('appRoot walks up to the repository from src-main, dist/cli and dist/electron', () => {
    expect(appRoot()).toBe(ROOT.replace(/\/$/, ''))
    for (const from of ['dist/cli', 'dist/cli/b-x/chunks', 'dist/electron', 'src-main/hosts/web']) expect(appRoot(join(ROOT, from))).toBe(ROOT.replace(/\/$/, ''))
    expect(appModelsDir()).toBe(join(ROOT, 'models'))
  })
})
