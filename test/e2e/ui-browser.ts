/**
 * Small page helpers for the UI tests, on top of the shared harness (test/e2e/harness.ts: web host,
 * Chromium flags, viewport pixel sampling, screenshots).
 */
import type { Page } from 'playwright-core'
import type {} from '../../src-renderer/test-api.js'

/** Waits until the renderer says the case is open (or throws its plain-words error). */
export async function waitReady(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const s = document.querySelector('[data-testid=load-state]')?.getAttribute('data-state')
      if (s === 'error') throw new Error(document.querySelector('[data-testid=error]')?.textContent ?? 'load failed')
      return s === 'ready' && !!window.__scn
    },
    null,
    { timeout, polling: 200 },
  )
}

/** How many answers the stats worker has given; tests wait for it to move after an edit. */
export async function statsVersion(page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-testid=stats-version]', 'data-version'))
}

export async function waitStatsAfter(page: Page, version: number): Promise<void> {
  await page.waitForFunction((v) => Number(document.querySelector('[data-testid=stats-version]')?.getAttribute('data-version')) > v, version, { timeout: 30_000 })
}

/**
 * Starts watching for `selector` before an action and returns a check that says whether it was
 * ever in the page since. A waitForSelector polls, so on a fast machine it can miss an element
 * that lived a few milliseconds (a progress bar of a run that finished at once); a
 * MutationObserver sees every insertion.
 */
export async function watchAppearance(page: Page, selector: string): Promise<() => Promise<boolean>> {
  const key = `__seen:${selector}`
  await page.evaluate(
    ({ selector, key }) => {
      const w = window as unknown as Record<string, unknown>
      w[key] = !!document.querySelector(selector)
      const observer = new MutationObserver(() => {
        if (document.querySelector(selector)) {
          w[key] = true
          observer.disconnect()
        }
      })
      observer.observe(document.body, { childList: true, subtree: true, attributes: true })
    },
    { selector, key },
  )
  return () => page.evaluate((key) => (window as unknown as Record<string, unknown>)[key] === true, key)
}

/**
 * What the labels tint in the 3D pane: the count of pixels away from its dark background
 * (rgb(15, 18, 23)) and their bounding box as fractions of the canvas (top/left inclusive, bottom/right exclusive).
 */
export async function tinted3d(page: Page): Promise<{ count: number; top: number; bottom: number; left: number; right: number }> {
  return page.evaluate(() => {
    const cv = document.querySelector('[data-testid=viewport-3d] canvas') as HTMLCanvasElement
    const c = document.createElement('canvas')
    c.width = cv.width
    c.height = cv.height
    const g = c.getContext('2d')!
    g.drawImage(cv, 0, 0)
    const d = g.getImageData(0, 0, c.width, c.height).data
    let count = 0
    let top = Infinity
    let bottom = -1
    let left = Infinity
    let right = -1
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        const i = 4 * (y * c.width + x)
        if (Math.abs(d[i]! - 15) + Math.abs(d[i + 1]! - 18) + Math.abs(d[i + 2]! - 23) <= 40) continue
        count++
        top = Math.min(top, y)
        bottom = Math.max(bottom, y)
        left = Math.min(left, x)
        right = Math.max(right, x)
      }
    }
    return { count, top: top / c.height, bottom: (bottom + 1) / c.height, left: left / c.width, right: (right + 1) / c.width }
  })
}
