/**
 * Real-browser harness: the web host (loopback, token) serving the production renderer build, and
 * Debian's Chromium driven by playwright-core with software WebGL (docs/runtime-notes.md). Helpers wait for
 * Cornerstone viewports to render (by sampling their pixels), read labelmap voxel counts through
 * the contract, and save screenshots to test-results/screenshots/ (CI keeps them as artifacts).
 * Never `npx playwright install`: the browser is the system's /usr/bin/chromium.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { ScnClient } from '../../src-shared/contract/index.js'
import type { SegmentationEngine } from '../../src-main/services/engine.js'
import type { Vec3 } from '../../src-shared/volume.js'
import { startTestHost, type TestHost } from '../helpers/web-host.js'
import { VIEW_NAMES } from '../../src-renderer/names.js'

export const ROOT = join(import.meta.dirname, '../..')
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'screenshots')
export const RENDERER_INDEX = join(ROOT, 'dist', 'renderer', 'index.html')
/** The test build (npm run build:test): the product plus the window.__scn hook the browser tests drive. */
export const TEST_RENDERER_DIR = join(ROOT, 'dist', 'renderer-test')

/** Headless Chromium with WebGL2 in software (ANGLE on SwiftShader), as docs/runtime-notes.md describes. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
]

export const VIEWS = VIEW_NAMES
export type View = (typeof VIEWS)[number]

/** Why the browser suite cannot run here, or undefined when it can. */
export function browserSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) return `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`
  return undefined
}

/**
 * The host serves a production build (the dev server breaks Cornerstone's workers, docs/runtime-notes.md):
 * 'test' is the one with the window.__scn hook (browser tests), 'production' the shipped one
 * (Electron, and the check that it has no hook). Built when missing so a fresh clone's `npm test`
 * works; reused otherwise (SCN_E2E_REBUILD=1 rebuilds).
 */
export function ensureRendererBuilt(which: 'test' | 'production' | 'both' = 'both'): void {
  const builds = [
    { kind: 'production', script: 'build', index: RENDERER_INDEX },
    { kind: 'test', script: 'build:test', index: join(TEST_RENDERER_DIR, 'index.html') },
  ].filter((b) => which === 'both' || b.kind === which)
  for (const b of builds) {
    if (existsSync(b.index) && !process.env.SCN_E2E_REBUILD) continue
    const r = spawnSync('npm', ['run', b.script], { cwd: ROOT, stdio: 'inherit', timeout: 600_000 })
    if (r.status !== 0 || !existsSync(b.index)) throw new Error(`npm run ${b.script} failed (exit ${r.status}): the renderer build is needed at ${b.index}`)
  }
}

export interface Harness {
  host: TestHost
  browser: Browser
  page: Page
  /** the contract client over the same host and token as the page */
  client: ScnClient
  /** page errors and console errors (CSP violations show up here) */
  errors: string[]
  close(): Promise<void>
}

export async function startHarness(opts: { engine?: SegmentationEngine; phantom?: Parameters<typeof startTestHost>[2] } = {}): Promise<Harness> {
  ensureRendererBuilt('test')
  const host = await startTestHost(opts.engine ? { engine: opts.engine } : {}, { rendererDir: TEST_RENDERER_DIR }, opts.phantom)
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS })
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
    page.on('console', (m) => {
      // failed loads are reported below with their URL
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`)
    })
    page.on('response', (r) => {
      // Static files only: contract calls answer 4xx by design (e.g. labels.get of a prediction
      // that does not exist yet) and the page handles those. Browsers ask for /favicon.ico on their own.
      const path = new URL(r.url()).pathname
      if (r.status() >= 400 && !path.startsWith('/api/') && path !== '/favicon.ico') errors.push(`HTTP ${r.status()} ${r.url()}`)
    })
    await page.goto(host.host.openUrl)
    const b = browser
    return {
      host,
      browser: b,
      page,
      client: host.client,
      errors,
      async close() {
        await b.close()
        await host.close()
      },
    }
  } catch (e) {
    await browser?.close()
    await host.close()
    throw e
  }
}

export interface CanvasSample {
  width: number
  height: number
  /** fraction of sampled pixels brighter than near-black */
  litFraction: number
  /** distinct grey/colour values among the samples (a flat fill has 1-2) */
  distinct: number
  /** fraction of sampled pixels that are clearly coloured (overlay), not grey */
  colouredFraction: number
}

/** Sample a viewport's canvas pixels in the page (2D canvases directly, WebGL ones via a 2D copy). */
export async function sampleViewport(page: Page, view: View): Promise<CanvasSample | null> {
  return page.evaluate((v) => {
    const host = document.querySelector(`[data-testid=viewport-${v}]`)
    const canvases = host ? [...host.querySelectorAll('canvas')] : []
    const canvas = canvases.sort((a, b) => b.width * b.height - a.width * a.height)[0]
    if (!canvas || canvas.width < 2 || canvas.height < 2) return null
    const copy = document.createElement('canvas')
    copy.width = canvas.width
    copy.height = canvas.height
    const ctx = copy.getContext('2d', { willReadFrequently: true })!
    ctx.drawImage(canvas, 0, 0)
    const { data } = ctx.getImageData(0, 0, copy.width, copy.height)
    let lit = 0
    let coloured = 0
    let n = 0
    const seen = new Set<number>()
    const step = Math.max(1, Math.floor((copy.width * copy.height) / 40_000))
    for (let p = 0; p < copy.width * copy.height; p += step) {
      const r = data[4 * p]
      const g = data[4 * p + 1]
      const b = data[4 * p + 2]
      n++
      if (r + g + b > 30) lit++
      if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++
      if (seen.size < 1000) seen.add((r << 16) | (g << 8) | b)
    }
    return { width: canvas.width, height: canvas.height, litFraction: lit / n, distinct: seen.size, colouredFraction: coloured / n }
  }, view)
}

/**
 * Wait until every view's canvas shows an image (not blank: enough lit pixels and more than a
 * handful of distinct values). Software WebGL's first frame takes seconds.
 */
export async function waitForViewports(page: Page, timeoutMs = 120_000): Promise<Record<View, CanvasSample>> {
  const deadline = Date.now() + timeoutMs
  let last: Partial<Record<View, CanvasSample | null>> = {}
  while (Date.now() < deadline) {
    last = {}
    for (const v of VIEWS) last[v] = await sampleViewport(page, v)
    if (VIEWS.every((v) => rendered(last[v]))) return last as Record<View, CanvasSample>
    await page.waitForTimeout(250)
  }
  throw new Error(`viewports did not render within ${timeoutMs} ms: ${JSON.stringify(last)}`)
}

export function rendered(s: CanvasSample | null | undefined): boolean {
  return !!s && s.litFraction > 0.05 && s.distinct > 8
}

/** Voxel count of every label value in a labelmap, read through the contract (not the page). */
export async function labelCounts(client: ScnClient, volumeId: string, kind: 'current' | 'prediction' = 'current'): Promise<Record<number, number>> {
  const s = await client.statistics.compute({ volumeId, kind })
  return Object.fromEntries(Object.entries(s.counts).map(([k, v]) => [Number(k), v]))
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  // a full-window 3D view ray-cast in software WebGL can take a while to draw on a busy machine
  await page.screenshot({ path, timeout: 120_000 })
  return path
}
