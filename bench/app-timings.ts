/**
 * The app's side of issue 15, in Chromium against the real web host (software WebGL here, so
 * these are upper bounds for a machine with a GPU): Open -> first rendered slices of a CT, the
 * engine's "finished" -> the prediction drawn in the views, and the longest gap between animation
 * frames while the engine runs (the page must never freeze). `npm run bench` prints them after the
 * segment table; `npx tsx bench/app-timings.ts [--size large]` alone.
 */
import { resolve } from 'node:path'
import { startHarness, waitForViewports } from '../test/e2e/harness.js'
import { waitReady } from '../test/e2e/ui-browser.js'
import { SIZES } from './segment-bench.js'
import type {} from '../src-renderer/test-api.js'

export async function appTimings(size = 'large'): Promise<string> {
  const spec = SIZES[size]!
  const h = await startHarness({ phantom: { dims: spec.dims, spacing: spec.spacing } })
  try {
    const page = h.page
    await page.setViewportSize({ width: 1920, height: 1080 })
    await page.goto(`${h.host.host.openUrl}&noauto`)
    await waitReady(page).catch(() => undefined)
    await page.fill('[data-testid=open-path]', h.host.phantomPath)
    await page.click('[data-testid=open]')
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=load-state]')?.getAttribute('data-open-ms')) > 0, null, { timeout: 600_000 })
    const openMs = Number(await page.getAttribute('[data-testid=load-state]', 'data-open-ms'))
    await waitForViewports(page)
    // the longest frame gap while the engine runs, sampled by the page itself
    // a string, not a function: tsx's name helpers (__name) do not exist in the page
    await page.evaluate(`(() => {
      window.__gap = { max: 0, last: performance.now(), on: true }
      const tick = (t) => {
        window.__gap.max = Math.max(window.__gap.max, t - window.__gap.last)
        window.__gap.last = t
        if (window.__gap.on) requestAnimationFrame(tick)
      }
      requestAnimationFrame(tick)
    })()`)
    await page.click('[data-testid=run-segmentation]')
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=segment-done]')?.getAttribute('data-overlay-ms')) > 0, null, { timeout: 600_000 })
    const overlayMs = Number(await page.getAttribute('[data-testid=segment-done]', 'data-overlay-ms'))
    const gap = Number(await page.evaluate('(() => { window.__gap.on = false; return window.__gap.max })()'))
    return [
      `app (web host in Chromium, software WebGL; ${spec.note}, 1920x1080):`,
      `  open -> first rendered slices   ${(openMs / 1000).toFixed(2)} s`,
      `  engine finished -> overlay      ${(overlayMs / 1000).toFixed(2)} s`,
      `  longest frame gap while the engine ran  ${gap.toFixed(0)} ms`,
    ].join('\n')
  } finally {
    await h.close()
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const i = process.argv.indexOf('--size')
  process.stdout.write((await appTimings(i >= 0 ? process.argv[i + 1] : 'large')) + '\n')
}
