/**
 * Editing speed of the workstation UI on a real CT size (512x512x300), in Chromium.
 *
 *   npx tsx bench/ui-edit-bench.ts [--dims 512x512x300] [--spacing 0.8x0.8x1] [--dabs 200]
 *
 * Times are measured INSIDE the page with performance.now() around each operation (not wall clock:
 * software WebGL on a CPU-only machine makes rendering, not editing, the slow part). Printed:
 *   - brush dab (circle 6 mm, circle 15 mm, sphere 10 mm): compute + write + texture-update request +
 *     undo record + stats-worker post. A dab must be well under a 16 ms frame.
 *   - tool switch: must not touch the volume.
 *   - undo / redo of a dab; apply-prediction (whole volume, one undo step) and its undo.
 *   - stats worker: time to answer an edit (incremental) vs a full recomputation.
 *   - one software-WebGL render of the three views after a dab (for reference only).
 * Needs `npm run build:test` first (serves dist/renderer-test, the build with the window.__scn hook, in demo mode: the phantom is made in the page).
 */
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import type {} from '../src-renderer/test-api.js'

const args = process.argv.slice(2)
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt
}
const dims = opt('dims', '512x512x300')
const spacing = opt('spacing', '0.8x0.8x1')
const nDabs = Number(opt('dabs', '200'))
const root = join(process.cwd(), 'dist/renderer-test')
if (!existsSync(join(root, 'index.html'))) {
  console.error('dist/renderer-test is missing: run `npm run build:test` first (the test build has the window.__scn hook this benchmark drives)')
  process.exit(2)
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' }
const server = createServer(async (req, res) => {
  const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html'
  try {
    const body = await readFile(join(root, path))
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' })
    res.end(body)
  } catch {
    res.writeHead(404)
    res.end()
  }
}).listen(0, '127.0.0.1')
await new Promise((r) => server.once('listening', r))
const port = (server.address() as AddressInfo).port

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--js-flags=--max-old-space-size=8192'],
})
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  page.on('pageerror', (e) => console.error('page error:', e.message))
  page.on('console', (m) => (m.type() === 'log' && m.text().startsWith('[scn]') ? console.log(m.text()) : undefined))
  // tsx (esbuild keepNames) wraps functions in __name(); the page has no such helper
  await page.addInitScript({ content: 'window.__name = (f) => f' })
  const t0 = Date.now()
  await page.goto(`http://127.0.0.1:${port}/?demo&dims=${dims}&spacing=${spacing}`)
  await page.waitForFunction(() => document.querySelector('[data-testid=load-state]')?.getAttribute('data-state') === 'ready' || document.querySelector('[data-testid=error]'), null, { timeout: 600_000, polling: 500 })
  const err = await page.textContent('[data-testid=error]').catch(() => null)
  if (err) throw new Error(err)
  console.log(`volume ${dims} at ${spacing} mm loaded in the page in ${((Date.now() - t0) / 1000).toFixed(1)} s (phantom generation + volume + first render, wall clock)`)

  const results = await page.evaluate(async (n) => {
    const api = window.__scn!
    const [nx, ny, nz] = api.dims()!
    const stats = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b)
      const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!
      return { n: s.length, median: q(0.5), p95: q(0.95), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length }
    }
    let seed = 7
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
    const kMid = Math.floor(nz / 2)
    const out: Record<string, unknown> = {}
    const dabSeries = (radius: number, sphere: boolean) => {
      api.setBrush(radius, sphere)
      api.setTool('brush')
      const times: number[] = []
      const voxels: number[] = []
      for (let d = 0; d < n; d++) {
        const ijk: [number, number, number] = [nx * (0.2 + 0.6 * rnd()), ny * (0.2 + 0.6 * rnd()), kMid + Math.floor((rnd() - 0.5) * 20)]
        const r = api.dabAt('axial', ijk)
        times.push(r.ms)
        voxels.push(r.changed)
      }
      return { ...stats(times), meanVoxels: voxels.reduce((a, b) => a + b, 0) / voxels.length }
    }
    out.dabCircle6 = dabSeries(6, false)
    out.dabCircle15 = dabSeries(15, false)
    out.dabSphere10 = dabSeries(10, true)

    const undo: number[] = []
    const redo: number[] = []
    for (let u = 0; u < Math.min(100, n); u++) undo.push(api.timeUndo())
    for (let u = 0; u < Math.min(100, n); u++) redo.push(api.timeRedo())
    out.undoDab = stats(undo)
    out.redoDab = stats(redo)

    const tools = ['brush', 'eraser', 'threshold', 'scissors-circle', 'scissors-rectangle', 'scissors-sphere', 'fill', 'navigate'] as const
    const sw: number[] = []
    for (let r = 0; r < 125; r++) for (const t of tools) sw.push(api.timeToolSwitch(t))
    out.toolSwitch = stats(sw)

    // applying a whole-volume prediction is ONE undo step: time it and its undo
    const target = new Uint8Array(nx * ny * nz)
    for (let x = 0; x < target.length; x += 3) target[x] = 1 + (x % 4)
    out.applyPrediction = api.timeApplyLabels(target, 'Apply prediction (bench)')
    out.undoPrediction = { ms: api.timeUndo() }

    // region commands on the big volume (each one undo step), then undone
    api.setActiveLabel(2)
    api.setBrush(8, false)
    api.dabAt('axial', [nx * 0.3, ny * 0.3, kMid - 10])
    api.dabAt('axial', [nx * 0.3, ny * 0.3, kMid + 10])
    out.interpolate = api.timeRegion('interpolate', 'axial')
    api.setBrush(2, false)
    api.dabAt('axial', [nx * 0.7, ny * 0.7, kMid]) // a stray island (< 5 % of the organ)
    out.islands = api.timeRegion('islands', 'axial')
    api.setActiveLabel(3)
    out.fill2d = api.timeRegion('fill', 'axial', [nx * 0.3, ny * 0.3, kMid])
    for (let u = 0; u < 6; u++) api.timeUndo()
    api.setActiveLabel(1)

    // one render of the three views after a dab (software WebGL: for reference only)
    api.setBrush(6, false)
    api.dabAt('axial', [nx / 2, ny / 2, kMid])
    out.renderAfterDab = { ms: await api.timeRender() }
    return out
  }, nDabs)

  // stats worker timing: the worker reports its own compute time for the last update
  await page.waitForTimeout(1000)
  const workerMs = Number((await page.textContent('.panel .hint'))?.match(/([\d.]+) ms/)?.[1])

  const f = (x: number) => x.toFixed(3)
  type S = { n: number; median: number; p95: number; max: number; mean: number; meanVoxels?: number }
  const line = (name: string, s: S) => console.log(`${name.padEnd(28)} n=${String(s.n).padEnd(5)} median ${f(s.median)} ms  p95 ${f(s.p95)} ms  max ${f(s.max)} ms${s.meanVoxels !== undefined ? `  (${Math.round(s.meanVoxels)} voxels/dab)` : ''}`)
  console.log(`\nediting on ${dims} (in-page performance.now, Chromium ${browser.version()}):`)
  line('dab circle r=6 mm', results.dabCircle6 as S)
  line('dab circle r=15 mm', results.dabCircle15 as S)
  line('dab sphere r=10 mm', results.dabSphere10 as S)
  line('undo (one dab)', results.undoDab as S)
  line('redo (one dab)', results.redoDab as S)
  line('tool switch', results.toolSwitch as S)
  const ap = results.applyPrediction as { ms: number; voxels: number }
  console.log(`${'apply prediction (1 step)'.padEnd(28)} ${ap.ms.toFixed(1)} ms for ${ap.voxels} changed voxels`)
  console.log(`${'undo apply prediction'.padEnd(28)} ${(results.undoPrediction as { ms: number }).ms.toFixed(1)} ms`)
  for (const [name, key] of [['interpolate 20-slice gap', 'interpolate'], ['remove small islands', 'islands'], ['flood fill (one slice)', 'fill2d']] as const) {
    const r = results[key] as { ms: number; voxels: number }
    console.log(`${name.padEnd(28)} ${r.ms.toFixed(1)} ms, ${r.voxels} voxels changed`)
  }
  console.log(`${'stats worker, last update'.padEnd(28)} ${workerMs} ms (off the UI thread)`)
  console.log(`${'render 3 views after a dab'.padEnd(28)} ${(results.renderAfterDab as { ms: number }).ms.toFixed(1)} ms (software WebGL; a GPU renders this in a frame)`)
  const worst = Math.max((results.dabCircle6 as S).p95, (results.dabCircle15 as S).p95)
  console.log(`\ncircle dab p95 ${f(worst)} ms vs 16 ms frame budget: ${worst < 16 ? 'OK' : 'TOO SLOW'}`)
} finally {
  await browser.close()
  server.close()
}
