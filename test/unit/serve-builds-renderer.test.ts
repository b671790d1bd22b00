/**
 * `scn-studio serve` on a fresh clone: with no renderer build it runs the Vite build first (saying
 * so), then serves the real page; with a current build it serves at once; with a build older than
 * its sources it rebuilds. SCN_RENDERER_DIR points the build at a temporary folder, so the
 * repository's dist/ is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { writePhantom } from '../helpers/web-host.js'

const root = join(import.meta.dirname, '../..')
const cli = join(root, 'bin/scn-studio.mjs')

function serve(phantom: string, rendererDir: string): { child: ChildProcess; url: Promise<string>; out: () => string } {
  const child = spawn(process.execPath, [cli, 'serve', phantom, '--port', '0'], { cwd: root, env: { ...process.env, SCN_RENDERER_DIR: rendererDir }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 240 s:\n${out}`)), 240_000)
    const take = (d: Buffer) => {
      out += String(d)
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', take)
    child.stderr!.on('data', take)
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)))
  })
  return { child, url, out: () => out }
}

describe('serve builds the renderer when it is missing or stale', () => {
  let dir: string
  let phantom: string
  let rendererDir: string
  let running: ChildProcess | undefined
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scn-serve-build-'))
    phantom = await writePhantom(dir, [16, 16, 8], [10, 10, 20])
    rendererDir = join(dir, 'renderer')
  })
  afterEach(() => {
    running?.kill('SIGTERM')
    running = undefined
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  async function page(url: string): Promise<string> {
    const r = await fetch(url)
    expect(r.status).toBe(200)
    return r.text()
  }

  it('missing: builds, says so, then serves the renderer page', async () => {
    expect(existsSync(rendererDir)).toBe(false)
    const s = serve(phantom, rendererDir)
    running = s.child
    const url = await s.url
    expect(s.out()).toContain('The renderer is not built')
    expect(s.out()).toContain(`Renderer built into ${rendererDir}`)
    const html = await page(url)
    expect(html).not.toContain('not built')
    expect(html).toMatch(/<script type="module"[^>]*src="\.\/assets\/index-[\w-]+\.js"/)
    // the bundle the page names is served too
    const js = /src="\.\/(assets\/index-[\w-]+\.js)"/.exec(html)![1]!
    const cookie = (await fetch(url)).headers.get('set-cookie')!.split(';')[0]!
    const r = await fetch(new URL(js, url.replace(/\?.*/, '')), { headers: { cookie } })
    expect(r.status).toBe(200)
    expect((await r.text()).length).toBeGreaterThan(100_000)
  }, 300_000)

  it('fresh: serves at once without building', async () => {
    const s = serve(phantom, rendererDir)
    running = s.child
    await page(await s.url)
    expect(s.out()).not.toMatch(/not built|rebuilding|Renderer built/)
  }, 120_000)

  it('stale (build older than a source file): rebuilds before serving', async () => {
    const old = new Date('2001-01-01T00:00:00Z')
    utimesSync(join(rendererDir, 'index.html'), old, old)
    const s = serve(phantom, rendererDir)
    running = s.child
    await page(await s.url)
    expect(s.out()).toMatch(/The renderer build is older than .*src-(renderer|shared)|package/)
    expect(s.out()).toContain('Renderer built into')
  }, 300_000)
})
